/**
 * No Lambda bundle carries the embedded engine: floe's handlers, bundled with the options
 * the construct gives NodejsFunction, and a function of one's own bundled with the same
 * options, as the README says. esbuild's metafile lists every file it read.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type BuildOptions } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { Handler, bundlingOptions, entryFor, esbuildOptionsOf } from "../../infra/bundling.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "floe-left-out-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The files each bundle of `entries` was made from, by entry, and under `read` every file esbuild read. */
async function inputsOf(entries: Record<string, string>, options: BuildOptions): Promise<Record<string, string[]>> {
  const { metafile } = await build({ ...options, entryPoints: entries, outdir: scratch, write: false, metafile: true, logLevel: "silent" });
  const outputs = Object.values(metafile.outputs).filter((o) => o.entryPoint !== undefined);
  const read = Object.keys(metafile.inputs);
  return Object.fromEntries([
    ["read", read],
    ...
    Object.entries(entries).map(([name, entry]) => {
      const output = outputs.find((o) => join(root, o.entryPoint ?? "") === entry || o.entryPoint === entry);
      if (output === undefined) throw new Error(`no bundle for ${name}`);
      return [name, Object.keys(output.inputs)];
    }),
  ]);
}

const embedded = (inputs: string[]) => inputs.filter((path) => /(^|\/)sdk\/embedded\//.test(path));
// floe uses no waiter of the DynamoDB client: a bundle holds them only when it cannot leave
// out what is unused (behind a dynamic import, every command and waiter of every client stays).
const unusedSdk = (inputs: string[]) => inputs.filter((path) => path.includes("@aws-sdk/client-dynamodb/dist-es/waiters/"));
const userFunction = join(root, "test", "fixtures", "connected-function.ts");
const { esbuildArgs: _conditions, ...withoutCondition } = bundlingOptions;

describe("Lambda bundles", () => {
  it("of floe's handlers hold no embedded engine", async () => {
    const tasks = join(root, "infra", "example-tasks.ts");
    const entries = Object.fromEntries(Object.values(Handler).map((h) => [h, entryFor(h, tasks, scratch)]));
    const inputs = await inputsOf(entries, esbuildOptionsOf(bundlingOptions));
    for (const handler of Object.values(Handler)) expect(embedded(inputs[handler] ?? []), handler).toEqual([]);
    expect(embedded(inputs.read ?? [])).toEqual([]);
    // The worker does hold the tasks, and "floe" with them.
    expect(inputs[Handler.Worker]).toContain("examples/process-order.ts");
    expect(inputs[Handler.Worker]).toContain("sdk/index.ts");
    expect(unusedSdk(inputs[Handler.Worker] ?? [])).toEqual([]);
  }, 60_000);

  it("of a function of one's own hold no embedded engine, and do hold what submits to the orchestrator", async () => {
    const { checkout = [], read = [] } = await inputsOf({ checkout: userFunction }, esbuildOptionsOf(bundlingOptions));
    expect(embedded(checkout)).toEqual([]);
    expect(embedded(read)).toEqual([]);
    expect(checkout).toContain("sdk/api/connected.ts");
    expect(checkout).toContain("sdk/aws/aws-runtime.ts");
    expect(unusedSdk(checkout)).toEqual([]);
  }, 60_000);

  it("hold the embedded engine when bundled without the condition (what the checks above would see)", async () => {
    const { checkout = [] } = await inputsOf({ checkout: userFunction }, esbuildOptionsOf(withoutCondition));
    expect(embedded(checkout)).toContain("sdk/embedded/embedded-engine.ts");
  }, 60_000);

  it("of what does not import floe are the same with the condition (a custom condition alone would drop \"module\")", async () => {
    const coordinator = join(root, "functions", "coordinator.ts");
    const { coordinator: with_ } = await inputsOf({ coordinator }, esbuildOptionsOf(bundlingOptions));
    const { coordinator: without } = await inputsOf({ coordinator }, esbuildOptionsOf(withoutCondition));
    expect(with_).toEqual(without);
  }, 60_000);
});
