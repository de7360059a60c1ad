/**
 * A module that defines a name twice is refused under the `floe` command as it is on a
 * plain import (`FLOE_DUPLICATE_TASK`), on the first load and on `floe dev`'s reload
 * alike; a reload still replaces the definitions of the load before it.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { httpApi } from "../../sdk/cli/api-client.ts";
import { expectOneLine, floe, serve, stop } from "./support.ts";

describe("floe run on a module that defines a name twice", () => {
  it("refuses a workflow defined twice, naming it, the file and the code", { timeout: 30_000 }, async () => {
    const outcome = await floe(["run", "test/cli/fixtures/duplicate-workflow.ts", "twice"]);
    expectOneLine(outcome, 2, /cannot load the module "test\/cli\/fixtures\/duplicate-workflow\.ts": FLOE_DUPLICATE_TASK: a workflow named "twice" is already defined/);
  });

  it("refuses a task defined twice beside a workflow, naming the task and the file", { timeout: 30_000 }, async () => {
    const outcome = await floe(["run", "test/cli/fixtures/duplicate-task.ts", "uses_a"]);
    expectOneLine(outcome, 2, /cannot load the module "test\/cli\/fixtures\/duplicate-task\.ts": FLOE_DUPLICATE_TASK: a task named "a" is already defined/);
  });
});

describe("floe dev reloading a module", () => {
  let dev: ChildProcess;
  let url = "";
  const output = { log: "" };
  const module = "test-artifacts/cli/duplicates-module.ts";
  const write = (body: string) => writeFile(new URL(`../../${module}`, import.meta.url), `import { workflow } from "floe";\n${body}`);

  beforeAll(async () => {
    vi.stubEnv("HOME", await mkdtemp(join(tmpdir(), "floe-cli-home-")));
    await mkdir(new URL("../../test-artifacts/cli/", import.meta.url), { recursive: true });
    await write(`export const one = workflow("one", async () => 1);\nexport const two = workflow("two", async () => 2);\n`);
    ({ child: dev, url } = await serve(["dev", module], output));
  }, 30_000);
  afterAll(async () => {
    await stop(dev);
    vi.unstubAllEnvs();
  });

  it("refuses a version that defines a workflow twice and keeps serving the previous one", async () => {
    expect(output.log).toContain("workflows: one, two");
    await write(`export const a = workflow("one", async () => "first");\nexport const b = workflow("one", async () => "second");\n`);
    await until(() => output.log.includes("still serving the previous version"));
    expect(output.log).toMatch(/cannot load the module "test-artifacts\/cli\/duplicates-module\.ts": FLOE_DUPLICATE_TASK: a workflow named "one" is already defined/);
    expect(output.log).not.toContain("reloaded");
    // The refused version's first "one" replaced nothing.
    const api = httpApi(url);
    const id = await api.start("one", []);
    await until(async () => (await api.result(id)).state === "completed");
    expect((await api.result(id)).result).toBe(1);
  });

  it("lists the workflows the new version defines, not those it dropped", async () => {
    await write(`export const one = workflow("one", async () => "new");\nexport const three = workflow("three", async () => 3);\n`);
    await until(() => output.log.includes("reloaded"));
    expect(output.log).toMatch(/reloaded \S+; workflows: one, three\n/);
    const api = httpApi(url);
    const id = await api.start("one", []);
    await until(async () => (await api.result(id)).state === "completed");
    expect((await api.result(id)).result).toBe("new");
  });
});

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("timed out");
}
