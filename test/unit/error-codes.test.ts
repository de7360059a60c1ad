/**
 * Every error code floe throws or answers is in `ErrorCode` (sdk/errors.ts): a scan of the
 * sources for code strings, so that a code written as a literal and never registered fails
 * here rather than surprise a user matching on `ErrorCode`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "floe";
import { EnvironmentVariable } from "../../sdk/aws/contract.ts";

const registered = new Set<string>(Object.values(ErrorCode));

/** The source files of the package and its Lambda handlers. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Each string literal that is a whole `FLOE_…` name, and each literal in a code's place. */
function codeStrings(text: string): { floeNames: string[]; inCodePlace: string[]; envNames: string[] } {
  const all = (re: RegExp) => [...text.matchAll(re)].map((m) => m[1] ?? "");
  return {
    floeNames: all(/["'`](FLOE_[A-Z0-9_]+)["'`]/g),
    inCodePlace: [
      ...all(/\bcode\s*:\s*["'`]([^"'`]+)["'`]/g),
      ...all(/(?<!typeof\s+[\w.]*)\bcode\s*===?\s*["'`]([^"'`]+)["'`]/g),
      ...all(/new FloeError\(\s*["'`]([^"'`]+)["'`]/g),
      ...all(/new HttpError\(\s*\d+\s*,\s*["'`]([^"'`]+)["'`]/g),
      ...all(/super\(\s*["'`](FLOE_[^"'`]+)["'`]/g),
    ],
    // Environment variables the `floe` command reads (`Option.env`), which share the prefix.
    envNames: all(/\.env\(\s*["'`](FLOE_[A-Z0-9_]+)["'`]\s*\)/g),
  };
}

/** The codes Node (`ENOENT`, `ERR_MODULE_NOT_FOUND`) and zod give their own errors, which floe reads but never gives. */
const isForeignCode = (code: string) => /^(E[A-Z]+|ERR_[A-Z_]+)$/.test(code) || code === "unrecognized_keys";

describe("the error code registry", () => {
  const files = [...sources("sdk"), ...sources("functions")].filter((file) => !file.endsWith("errors.ts"));
  const found = files.map((file) => ({ file, ...codeStrings(readFileSync(file, "utf8")) }));
  const environment = new Set<string>([...Object.values(EnvironmentVariable), ...found.flatMap((f) => f.envNames)]);

  it("holds every FLOE_ name used in sdk/ and functions/ that is not an environment variable", () => {
    const unregistered = found.flatMap(({ file, floeNames }) =>
      floeNames.filter((name) => !registered.has(name) && !environment.has(name)).map((name) => `${file}: ${name}`),
    );
    expect(unregistered).toEqual([]);
    // The scan sees the codes answered as literals outside the SDK's own errors.
    expect(found.some((f) => f.floeNames.includes(ErrorCode.Forbidden))).toBe(true);
  });

  it("holds every string in a code's place (a `code:` field, a comparison, a FloeError's or HttpError's code)", () => {
    const unregistered = found.flatMap(({ file, inCodePlace }) =>
      inCodePlace.filter((code) => !registered.has(code) && !isForeignCode(code)).map((code) => `${file}: ${code}`),
    );
    expect(unregistered).toEqual([]);
  });

  it("gives each code one name, and names no code twice", () => {
    expect(registered.size).toBe(Object.keys(ErrorCode).length);
    for (const code of registered) expect(code).toMatch(/^FLOE_[A-Z_]+$/);
  });
});
