/**
 * Error names in bundles as Lambda runs them: a task module bundled with floe's own
 * bundling options (minified) and run in a Node process of its own. Without kept names a
 * minifier renames classes, and `retryOn: ["TimeoutError"]` never matches.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { bundlingOptions, esbuildOptionsOf } from "../../infra/bundling.ts";
import { FloeError, NonRetriableError, TimeoutError } from "../../sdk/errors.ts";

const folder = mkdtempSync(join(tmpdir(), "floe-names-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

interface Report {
  builtIn: { value?: number; name?: string };
  user: { value?: number; name?: string };
  failure: { name?: string; instanceOfFloeError?: boolean };
  recordedError: unknown;
  thrownName: string;
  instanceOfFloeError: boolean;
}

/** Bundles the fixture as `infra/bundling.ts` says (but `keepNames` when given), runs it, returns its report. */
async function runBundled(keepNames = bundlingOptions.keepNames): Promise<Report> {
  const outfile = join(folder, `named-errors-${String(keepNames)}.mjs`);
  await build({
    ...esbuildOptionsOf({ ...bundlingOptions, keepNames, sourceMap: false }),
    entryPoints: [join(import.meta.dirname, "..", "fixtures", "named-errors.ts")],
    outfile,
    logLevel: "warning",
  });
  const { stdout } = await promisify(execFile)(process.execPath, [outfile]);
  return JSON.parse(stdout) as Report;
}

describe("error names in a minified bundle", () => {
  it("are minified: the bundling options minify", () => {
    expect(bundlingOptions.minify).toBe(true);
  });

  it("select retries by name, of floe's TimeoutError and of a user's class, with floe's bundling options", async () => {
    const report = await runBundled();
    expect(report.builtIn).toEqual({ value: 2 });
    expect(report.user).toEqual({ value: 2 });
    expect(report.failure).toEqual({ name: "TimeoutError", instanceOfFloeError: true });
    expect(JSON.stringify(report.recordedError)).toContain("TimeoutError");
  }, 60_000);

  it("keep floe's own error names in a user's bundle minified without kept names", async () => {
    const report = await runBundled(false);
    expect(report.thrownName).toBe("TimeoutError");
    expect(report.builtIn).toEqual({ value: 2 });
    expect(report.failure.name).toBe("TimeoutError");
    expect(report.instanceOfFloeError).toBe(true);
  }, 60_000);
});

describe("floe's errors from another copy of the module", () => {
  it("are instances of this copy's classes by their brand, and only of their own", async () => {
    const outfile = join(folder, "errors-copy.mjs");
    await build({ entryPoints: [join(import.meta.dirname, "..", "..", "sdk", "errors.ts")], outfile, bundle: true, format: "esm", minify: true, logLevel: "warning" });
    const copy = (await import(outfile)) as typeof import("../../sdk/errors.ts");
    const timeout = new copy.TimeoutError("from another bundle");
    expect(timeout).not.toBeInstanceOf(copy.NonRetriableError);
    expect(timeout instanceof TimeoutError).toBe(true);
    expect(timeout instanceof FloeError).toBe(true);
    expect(timeout instanceof NonRetriableError).toBe(false);
    class Mine extends TimeoutError {}
    expect(timeout instanceof Mine).toBe(false);
    expect(new Mine("mine")).toBeInstanceOf(TimeoutError);
    expect(new Mine("mine").name).toBe("Mine");
  });
});
