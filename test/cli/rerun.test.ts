/** `floe rerun` and `floe cancel` (one execution, or a workflow's runs in a state) on a `floe dev` server. */
import { describe, expect, it } from "vitest";
import { httpApi } from "../../sdk/cli/api-client.ts";
import { cli, devServer, expectOneLine } from "./support.ts";

const server = devServer("test/cli/fixtures/rerun.ts");

async function settled(id: string, state: string): Promise<void> {
  for (let tries = 0; tries < 400; tries += 1) {
    if ((await httpApi(server.url()).result(id)).state === state) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${id} never became ${state}`);
}

describe("floe rerun", () => {
  it("re-runs a failed run, then refuses the completed run, naming its state", async () => {
    const id = await httpApi(server.url()).start("cr_flow", []);
    await settled(id, "failed");
    expect(await cli("rerun", id, "--api", server.url())).toMatchObject({ code: 0, stdout: `${id} re-run (attempt 2)\n` });
    await settled(id, "completed");
    expect((await httpApi(server.url()).result(id)).result).toBe("done ok");
    expectOneLine(await cli("rerun", id, "--api", server.url()), 2, /is completed: only a failed or cancelled run can be re-run/);
    expectOneLine(await cli("rerun", "nope", "--api", server.url()), 2, /no execution has the id "nope"/);
  });
});

describe("floe cancel", () => {
  it("lists with --dry-run, then cancels, every running run of a workflow", async () => {
    const api = httpApi(server.url());
    const ids = [await api.start("cr_held", []), await api.start("cr_held", [])];
    for (const id of ids) await settled(id, "running");
    const dry = await cli("cancel", "--workflow", "cr_held", "--state", "running", "--dry-run", "--api", server.url());
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("2 running runs of cr_held would be cancelled");
    for (const id of ids) expect(dry.stdout).toContain(id);
    const done = await cli("cancel", "--workflow", "cr_held", "--state", "running", "--api", server.url());
    expect(done).toMatchObject({ code: 0 });
    expect(done.stdout).toContain("2 runs cancelled");
    for (const id of ids) expect((await api.result(id)).state).toBe("cancelled");
  });

  it("refuses bad options, naming the fix", async () => {
    expectOneLine(await cli("cancel", "--api", server.url()), 2, /pass an execution id, or --workflow <name> with --state <state>/);
    expectOneLine(await cli("cancel", "x", "--workflow", "cr_held", "--api", server.url()), 2, /not both/);
    expectOneLine(await cli("cancel", "--workflow", "cr_held", "--state", "done", "--api", server.url()), 2, /state must be one of waiting, queued, running, suspended, sleeping/);
  });
});
