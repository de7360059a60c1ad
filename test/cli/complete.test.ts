/** `floe complete` and callback URLs on a `floe dev` server: absolute, and usable with no secret. */
import { describe, expect, it } from "vitest";
import { httpApi } from "../../sdk/cli/api-client.ts";
import type { RunJson } from "../../sdk/http/views.ts";
import { cli, devServer, expectOneLine } from "./support.ts";

const server = devServer("test/cli/fixtures/approval.ts");

/** Starts a run; answers its id, its external's id and the callback URL the note task got. */
async function started(): Promise<{ runId: string; id: string; url: string }> {
  const api = httpApi(server.url());
  const runId = await api.start("xa_approval", []);
  for (let tries = 0; tries < 200; tries += 1) {
    const run = (await api.run(runId)) as RunJson;
    const id = run.executions.find((e) => e.task === "manager_approval")?.id;
    const note = run.executions.find((e) => e.task === "xa_note" && e.state === "completed");
    if (id !== undefined && note !== undefined) return { runId, id, url: note.result as string };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the run made no external execution");
}

describe("floe complete", () => {
  it("completes an external execution on the API, then refuses a second completion", async () => {
    const { runId, id } = await started();
    expect(await cli("complete", id, "--result", '{"approved":true}', "--api", server.url())).toMatchObject({ code: 0, stdout: `${id} completed\n` });
    expect((await httpApi(server.url()).result(runId)).result).toBe("approved");
    expectOneLine(await cli("complete", id, "--error", "too late", "--api", server.url()), 2, /completed already/);
  });

  it("has help", async () => {
    expect(await cli("complete", "--help")).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: floe complete \[options\] <id>/) });
  });

  it("refuses bad options, naming the fix", async () => {
    expectOneLine(await cli("complete", "x", "--api", server.url()), 2, /pass --result <json> or --error <message>/);
    expectOneLine(await cli("complete", "x", "--result", "yes", "--api", server.url()), 2, /--result must be JSON/);
    expectOneLine(await cli("complete", "x", "--result", "1", "--code", "E", "--api", server.url()), 2, /--code goes with --error/);
  });
});

describe("a callback URL under floe dev", () => {
  it("names the server, and completes its execution once with a plain POST, no secret", async () => {
    const { runId, url } = await started();
    expect(url.startsWith(`${server.url()}/callbacks/`)).toBe(true);
    const post = (body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const first = await post({ result: { approved: false } });
    expect(first.status).toBe(200);
    expect((await httpApi(server.url()).result(runId)).result).toBe("rejected");
    expect((await post({ result: { approved: true } })).status).toBe(404);
  });
});
