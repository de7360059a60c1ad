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

describe("a user's error class made with defineError, in two minified copies of a bundle", () => {
  type Copy = typeof import("../fixtures/defined-errors.ts");
  /** Bundles the fixture minified, without kept names, as a user's own bundler might. */
  async function copy(label: string): Promise<Copy> {
    const outfile = join(folder, `defined-errors-${label}.mjs`);
    await build({
      ...esbuildOptionsOf({ ...bundlingOptions, keepNames: false, sourceMap: false }),
      entryPoints: [join(import.meta.dirname, "..", "fixtures", "defined-errors.ts")],
      outfile,
      logLevel: "warning",
    });
    return (await import(outfile)) as Copy;
  }

  it("keeps its name, is recognised by the other copy's class, and is retried by the other copy's retryOn", async () => {
    const [a, b] = [await copy("a"), await copy("b")];
    expect(a.PaymentDeclined).not.toBe(b.PaymentDeclined);
    const fromA = a.declined("card declined");
    expect(fromA.name).toBe("PaymentDeclined");
    expect(a.PaymentDeclined.name).toBe("PaymentDeclined");
    expect((fromA as Error & { code?: string }).code).toBe("PAYMENT_DECLINED");
    expect(fromA instanceof b.PaymentDeclined).toBe(true);
    expect(new Error("other") instanceof b.PaymentDeclined).toBe(false);
    // B's task retries on B's class an error A made; and a plain error is not retried.
    expect(await b.attemptsWhenThrowing(() => a.declined("declined in A"))).toEqual({ attempts: 2 });
    expect(await b.attemptsWhenThrowing(() => new Error("other"))).toEqual({ failedWith: "Error" });
    // A plain class names no errors, and is another class in another copy: what defineError is for.
    const plain = new a.PlainDeclined("plain");
    expect(plain.name).toBe("Error");
    expect(plain instanceof b.PlainDeclined).toBe(false);
    expect(await a.attemptsWhenThrowing(() => new a.PlainDeclined("in A"), true)).toEqual({ attempts: 2 });
    expect(await b.attemptsWhenThrowing(() => new a.PlainDeclined("in A"), true)).toEqual({ failedWith: "Error" });
  }, 60_000);
});
