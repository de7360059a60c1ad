/**
 * `POST /callbacks/{token}` and `POST /executions/{id}/complete` (sdk/http/routes.ts): a
 * callback completes its external execution once; a used, expired, forged or malformed
 * token gets the same 404 and changes nothing; a task's execution is not completed from
 * outside (409); a bad body is a 400 naming the field, and writes nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { State, external, task, workflow } from "floe";
import { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import type { Clock } from "../../sdk/engine/ports.ts";
import { handleRequest, type HttpResponse } from "../../sdk/http/routes.ts";
import { callbackToken } from "../../sdk/runtime/callback-token.ts";
import { tree } from "../../sdk/cli/render.ts";
import { checkRequest } from "../../sdk/cli/request-guard.ts";
import type { RunJson } from "../../sdk/http/views.ts";

const HOUR = 3_600_000;
const BASE = "https://approvals.example.com/prod";
const turns = async (n = 30) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

export const noted = task("xc_note", async (url: string) => url);
export const approves = workflow("xc_approves", async () => {
  const approval = external<{ approved: boolean }>("approval", { timeoutMs: HOUR });
  await noted(approval.callbackUrl);
  return approval.result();
});

/** A clock whose timers never fire: time moves past a timeout with no timeout message delivered. */
class FrozenTimers implements Clock {
  at = Date.UTC(2027, 0, 4, 9);
  now(): number {
    return this.at;
  }
  schedule(): () => void {
    return () => undefined;
  }
}

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

function post(runtime: EmbeddedEngine, path: string, body: unknown): Promise<HttpResponse> {
  return handleRequest(runtime, { method: "POST", path, query: {}, headers: {}, body: typeof body === "string" ? body : JSON.stringify(body), caller: "anonymous" });
}

/** Starts a run waiting for its approval; answers the run, the approval's id and its callback URL. */
async function started(clock?: Clock): Promise<{ runtime: EmbeddedEngine; runId: string; id: string; url: string }> {
  const runtime = new EmbeddedEngine({ callbackBaseUrl: BASE, ...(clock === undefined ? {} : { clock }) });
  engine = runtime;
  const run = runtime.submit(approves);
  await turns();
  const executions = (await runtime.getRun(run.id))?.executions ?? [];
  const id = executions.find((e) => e.taskName === "approval")!.id;
  const url = (await runtime.reference(executions.find((e) => e.taskName === "xc_note")!.id).result()) as string;
  return { runtime, runId: run.id, id, url };
}

const pathOf = (url: string) => url.slice(BASE.length);
const notFound = { status: 404, body: { error: { code: "FLOE_NOT_FOUND", message: "no callback answers at this URL: it was used, it expired, or it was never given out" } } };

describe("POST /callbacks/{token}", () => {
  it("completes the external execution once: the waiting code resumes, and a second POST is a 404 that changes nothing", async () => {
    const { runtime, runId, id, url } = await started();
    expect(url.startsWith(`${BASE}/callbacks/${id}.`)).toBe(true);
    expect(await post(runtime, pathOf(url), { result: { approved: true } })).toEqual({ status: 200, body: { id, state: State.Completed } });
    expect(await runtime.reference(runId).result()).toEqual({ approved: true });
    expect(await post(runtime, pathOf(url), { result: { approved: false } })).toEqual(notFound);
    expect(await post(runtime, pathOf(url), { error: { message: "no" } })).toEqual(notFound);
    expect(await runtime.reference(id).result()).toEqual({ approved: true });
  });

  it("is a 404 once the execution's timeout has passed, even before the timeout message came, and it times out", async () => {
    const clock = new FrozenTimers();
    const { runtime, id, url } = await started(clock);
    clock.at += HOUR;
    expect(await post(runtime, pathOf(url), { result: { approved: true } })).toEqual(notFound);
    const record = await runtime.getExecution(id);
    expect(record?.state).toBe(State.Failed);
    await expect(runtime.reference(id).result()).rejects.toMatchObject({ code: "FLOE_TIMEOUT" });
  });

  it("is a 404 for a forged or malformed token, and changes nothing", async () => {
    const { runtime, runId, id, url } = await started();
    const mac = url.slice(url.lastIndexOf(".") + 1);
    const other = (await runtime.getRun(runId))!.executions.find((e) => e.taskName === "xc_note")!.id;
    const flipped = `${mac[0] === "A" ? "B" : "A"}${mac.slice(1)}`;
    const forged = [
      `${id}.${flipped}`, // the right id, a wrong mac
      `${other}.${mac}`, // another execution's id, the mac copied
      `${runId}.${mac}`,
      callbackToken("c2VjcmV0LWtleS1vZi1hbm90aGVyLWRlcGxveW1lbnQ", id), // a mac under another key
      `${id}.${mac}=`, // not the canonical base64url of the mac
      `${id}.${mac.slice(0, -1)}`,
      id,
      "garbage",
      ".",
      "x".repeat(2_000),
    ];
    for (const token of forged) {
      expect(await post(runtime, `/callbacks/${encodeURIComponent(token)}`, { result: { approved: true } }), token).toEqual(notFound);
    }
    expect((await runtime.getExecution(id))?.state).toBe(State.Waiting);
    // Still the real one works.
    expect((await post(runtime, pathOf(url), { result: { approved: true } })).status).toBe(200);
  });

  it("refuses a bad body with a 400 naming the field, and writes nothing", async () => {
    const { runtime, id, url } = await started();
    const bad: [unknown, string][] = [
      ["not json", "body"],
      [[1], "body"],
      [{}, "body"],
      [{ result: 1, error: { message: "x" } }, "body"],
      [{ value: 1 }, "value"],
      [{ error: "no" }, "error"],
      [{ error: {} }, "error.message"],
      [{ error: { message: "" } }, "error.message"],
      [{ error: { message: "no", code: "has space" } }, "error.code"],
      [{ error: { message: "no", reason: "x" } }, "error"],
    ];
    for (const [body, field] of bad) {
      const response = await post(runtime, pathOf(url), body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys((response.body as { error: { fields: Record<string, string> } }).error.fields), JSON.stringify(body)).toEqual([field]);
    }
    expect((await runtime.getExecution(id))?.state).toBe(State.Waiting);
  });
});

describe("POST /executions/{id}/complete", () => {
  it("completes an external execution with an error, then answers 409 saying its state", async () => {
    const { runtime, runId, id } = await started();
    const path = `/executions/${encodeURIComponent(id)}/complete`;
    expect(await post(runtime, path, { error: { message: "over budget", code: "E_REJECTED" } })).toEqual({ status: 200, body: { id, state: State.Failed } });
    await expect(runtime.reference(runId).result()).rejects.toMatchObject({ message: "over budget", code: "E_REJECTED" });
    const again = await post(runtime, path, { result: { approved: true } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: "FLOE_CONFLICT", message: expect.stringContaining("failed already") as unknown } });
  });

  it("answers 409 for a task's execution and 404 for an unknown one, changing nothing", async () => {
    const { runtime, runId } = await started();
    const taskRecord = (await runtime.getRun(runId))!.executions.find((e) => e.taskName === "xc_note")!;
    const response = await post(runtime, `/executions/${encodeURIComponent(taskRecord.id)}/complete`, { result: "x" });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ error: { code: "FLOE_CONFLICT", message: expect.stringContaining('a task\'s ("xc_note")') as unknown } });
    expect(await runtime.getExecution(taskRecord.id)).toEqual(taskRecord);
    expect((await post(runtime, "/executions/nope/complete", { result: 1 })).status).toBe(404);
  });
});

describe("an external execution's views", () => {
  it("show its kind and timeout, never its token, and floe inspect says what it waits for", async () => {
    const clock = new FrozenTimers();
    const { runtime, runId, id, url } = await started(clock);
    const view = await handleRequest(runtime, { method: "GET", path: `/runs/${runId}`, query: {}, headers: {}, body: undefined, caller: "test" });
    const external = (view.body as RunJson).executions.find((e) => e.id === id)!;
    expect(external).toMatchObject({ task: "approval", state: State.Waiting, external: { timeoutAt: clock.at + HOUR } });
    expect(external).not.toHaveProperty("notBefore");
    const token = url.slice(url.lastIndexOf("/") + 1);
    // (The note task holds it in its arguments: the code passed it there.)
    expect(JSON.stringify(external)).not.toContain(token.slice(token.lastIndexOf(".") + 1));
    expect(tree(view.body as RunJson, undefined, clock.at)).toContain(
      `⏲ waiting for completion from outside until ${new Date(clock.at + HOUR).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")}`,
    );
    expect(external.why).toMatchObject({ reason: "external", until: clock.at + HOUR });
  });
});

describe("callbackBaseUrl", () => {
  it("must be an absolute URL", () => {
    expect(() => new EmbeddedEngine({ callbackBaseUrl: "approvals" })).toThrow(/callbackBaseUrl must be an absolute URL, such as "https:\/\/api.example.com"/);
  });
});

describe("floe dev's guard", () => {
  const settings = { host: "127.0.0.1", port: 3700, secret: "s3cret" };
  const headers = { host: "127.0.0.1:3700" };
  it("lets a callback through without the server's secret (its token is its credential), and nothing else that writes", () => {
    expect(checkRequest({ method: "POST", path: "/callbacks/abc.def", headers }, settings)).toEqual({ owner: false });
    expect(checkRequest({ method: "POST", path: "/executions/abc/complete", headers }, settings).refused).toMatch(/needs this server's secret/);
    expect(checkRequest({ method: "POST", path: "/callbacks/abc/more", headers }, settings).refused).toMatch(/needs this server's secret/);
    // Another site's page is refused still.
    expect(checkRequest({ method: "POST", path: "/callbacks/abc.def", headers: { ...headers, origin: "https://evil.example" } }, settings).refused).toMatch(/may not call/);
  });
});
