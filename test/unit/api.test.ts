/**
 * The HTTP API through the API Lambda's handler, over the embedded engine: starting,
 * reading, long-polling and cancelling executions, listing runs, idempotency (T15) and bad
 * input, which writes nothing (T14).
 */
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gunzipSync } from "node:zlib";
import { apiResponse, createApiHandler, MAX_RESPONSE_BYTES } from "../../functions/api.ts";
import { localApi } from "../../sdk/cli/server.ts";
import { sleep, task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { apiEvent } from "../support/api-event.ts";

// Exported only to show they are defined for the API to find by name.
export const greet = workflow("api_greet", async (name: string, at: Date) => ({ hello: name, year: at.getFullYear?.() ?? null }));
export const add = workflow("api_add", async (a: number, b: number) => a + b);
export const helper = task("api_helper", async () => 1);
let release!: () => void;
export const blocked = workflow("api_blocked", async () => {
  await new Promise<void>((resolve) => (release = resolve));
  return "released";
});
export const failing = workflow("api_failing", async () => {
  throw Object.assign(new Error("the card was declined"), { code: "E_DECLINED" });
});

export const napper = workflow("api_napper", async () => {
  await sleep(3_600_000);
  return "rested";
});

let flakyCalls = 0;
export const flaky = workflow("api_flaky", { retries: { limit: 2, delayMs: 0 } }, async () => {
  flakyCalls += 1;
  if (flakyCalls === 1) throw Object.assign(new Error('"api_flaky" ran past its timeoutMs of 30000 ms'), { name: "TimeoutError", code: "FLOE_TIMEOUT" });
  if (flakyCalls === 2) throw new Error("503 from gateway");
  return "ok";
});

let engine: EmbeddedEngine;
beforeEach(() => {
  engine = createEmbeddedRuntime();
});
afterEach(async () => {
  await engine.close();
});

function event(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, query?: Record<string, string>): APIGatewayProxyEventV2 {
  return apiEvent(method, path, { body, headers, query });
}

async function call(...args: Parameters<typeof event>): Promise<{ status: number; body: any }> {
  const handler = createApiHandler({ runtime: engine, routes: { maxBodyBytes: 10_000, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))) } });
  const response = await handler(event(...args));
  return { status: response.statusCode ?? 0, body: JSON.parse(response.body ?? "null") };
}

async function nothingWritten(): Promise<void> {
  expect(await engine.listRuns()).toEqual([]);
  expect(engine.memory.queue.size).toBe(0);
}

describe("HTTP API", () => {
  it("starts a workflow and returns 202 with its id and status URL", async () => {
    const started = await call("POST", "/workflows/api_add/executions", { args: [2, 3] });
    expect(started.status).toBe(202);
    expect(started.body.statusUrl).toBe(`/executions/${started.body.id}`);
    const done = await call("GET", `/executions/${started.body.id}/result`, undefined, {}, { waitSeconds: "5" });
    expect(done.body).toMatchObject({ state: "completed", result: 5, task: "api_add", attempt: 1 });
    expect(done.body.history.map((h: { state: string }) => h.state)).toEqual(["queued", "running", "completed"]);
  });

  it("reads an execution's state, timestamps and error", async () => {
    const { body } = await call("POST", "/workflows/api_failing/executions", {});
    const done = await call("GET", `/executions/${body.id}/result`, undefined, {}, { waitSeconds: "5" });
    expect(done.body).toMatchObject({ state: "failed", error: { name: "Error", message: "the card was declined", code: "E_DECLINED" } });
    expect(done.body.finishedAt).toBeGreaterThanOrEqual(done.body.createdAt);
  });

  it("gives an error's name, message and code but not its stack, which names the deployment's files", async () => {
    const { body } = await call("POST", "/workflows/api_failing/executions", {});
    await call("GET", `/executions/${body.id}/result`, undefined, {}, { waitSeconds: "5" });
    const bodies = [(await call("GET", `/executions/${body.id}`)).body, (await call("GET", `/runs/${body.id}`)).body.executions[0]];
    for (const execution of bodies) {
      expect(Object.keys(execution.error).sort()).toEqual(["code", "message", "name"]);
      expect(JSON.stringify(execution)).not.toMatch(/api\.test\.ts|\bat /);
    }
  });

  it("long-polls up to waitSeconds and answers with the state so far", async () => {
    const { body } = await call("POST", "/workflows/api_blocked/executions", {});
    const early = await call("GET", `/executions/${body.id}/result`, undefined, {}, { waitSeconds: "0" });
    expect(early.body.state).toBe("running");
    release();
    const later = await call("GET", `/executions/${body.id}/result`, undefined, {}, { waitSeconds: "5" });
    expect(later.body).toMatchObject({ state: "completed", result: "released" });
  });

  it("cancels an execution", async () => {
    const { body } = await call("POST", "/workflows/api_blocked/executions", {});
    const cancelled = await call("POST", `/executions/${body.id}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.state).toBe("cancelled");
    release();
  });

  it("lists runs by workflow and returns one run with its executions and edges", async () => {
    const a = await call("POST", "/workflows/api_add/executions", { args: [1, 1] });
    await call("POST", "/workflows/api_greet/executions", { args: ["ada", "2026-01-01"] });
    await call("GET", `/executions/${a.body.id}/result`, undefined, {}, { waitSeconds: "5" });
    const list = await call("GET", "/runs", undefined, {}, { workflow: "api_add", limit: "10" });
    expect(list.body.runs.map((r: { id: string }) => r.id)).toEqual([a.body.id]);
    const run = await call("GET", `/runs/${a.body.id}`);
    expect(run.body.executions).toHaveLength(1);
    expect(run.body.edges).toEqual([]);
  });

  it("lists the workflows it can start, sorted, without the tasks", async () => {
    const { status, body } = await call("GET", "/workflows");
    expect(status).toBe(200);
    const names: string[] = body.workflows.map((w: { name: string }) => w.name);
    expect(names).toEqual(expect.arrayContaining(["api_add", "api_blocked", "api_failing", "api_greet"]));
    expect(names).not.toContain("api_helper");
    expect(names).toEqual([...names].sort());
    expect(body.workflows[0]).toEqual({ name: names[0] });
  });

  it("gives the same execution for the same Idempotency-Key and body, even 20 times at once (T15)", async () => {
    const headers = { "Idempotency-Key": "order-7" };
    const responses = await Promise.all(Array.from({ length: 20 }, () => call("POST", "/workflows/api_add/executions", { args: [4, 5] }, headers)));
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([202]));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await engine.listRuns()).toHaveLength(1);
    const conflict = await call("POST", "/workflows/api_add/executions", { args: [4, 6] }, headers);
    expect(conflict.status).toBe(422);
    expect(conflict.body.error.message).toContain('"order-7" was already used');
    expect(await engine.listRuns()).toHaveLength(1);
  });

  it.each([
    ["bad JSON", "/workflows/api_add/executions", "{nope", 400, "FLOE_BAD_JSON"],
    ["args not an array", "/workflows/api_add/executions", { args: "2,3" }, 400, "FLOE_BAD_REQUEST"],
    ["an unknown field", "/workflows/api_add/executions", { args: [], extra: 1 }, 400, "FLOE_BAD_REQUEST"],
    ["an unknown workflow", "/workflows/nope/executions", { args: [] }, 404, "FLOE_UNKNOWN_TASK"],
    ["a task that is not a workflow", "/workflows/api_helper/executions", { args: [] }, 404, "FLOE_UNKNOWN_TASK"],
    ["a body over the limit", "/workflows/api_add/executions", { args: ["x".repeat(20_000)] }, 413, "FLOE_PAYLOAD_TOO_LARGE"],
  ])("refuses %s with a clear error and writes nothing (T14)", async (_name, path, body, status, code) => {
    const response = await call("POST", path, body);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message.length).toBeGreaterThan(10);
    await nothingWritten();
  });

  it("names the field at fault in a bad request", async () => {
    const response = await call("POST", "/workflows/api_add/executions", { args: "2,3" });
    expect(response.body.error.fields).toEqual({ args: "args must be an array of the workflow's arguments" });
    const badWait = await call("GET", "/executions/x/result", undefined, {}, { waitSeconds: "99" });
    expect(badWait.body.error.fields).toEqual({ waitSeconds: "waitSeconds must be between 0 and 25" });
  });

  it("answers 400 naming the path, the limit and the fix for arguments nested past the codec's limit, and writes nothing (T14)", async () => {
    const levels = 4_900; // within the body limit; deep enough to overflow a recursive encoder
    const response = await call("POST", "/workflows/api_add/executions", `{"args":[${"[".repeat(levels)}${"]".repeat(levels)}]}`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("FLOE_NOT_SERIALIZABLE");
    expect(response.body.error.fields.args).toMatch(/^args\[0\]\[0\]\[0\].*…\[0\]\[0\] is nested 501 levels deep, past floe's limit of 500 levels; flatten the value/);
    await nothingWritten();
  });

  it("answers 400 naming a __proto__ key and its path, and writes nothing (T14)", async () => {
    const response = await call("POST", "/workflows/api_add/executions", '{"args":[{"user":{"__proto__":{"admin":true}}}, 1]}');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("FLOE_NOT_SERIALIZABLE");
    expect(response.body.error.fields.args).toContain('args[0].user has a key named "__proto__" (args[0].user["__proto__"]), which floe refuses');
    expect(response.body.error.fields.args).toContain("Rename the key");
    await nothingWritten();
  });

  it("answers 404 for an unknown execution or route", async () => {
    expect((await call("GET", "/executions/nope")).status).toBe(404);
    expect((await call("GET", "/runs/nope")).status).toBe(404);
    expect((await call("DELETE", "/workflows")).status).toBe(404);
  });

  it.each(["/executions/%E0%A4%A", "/runs/%E0%A4%A", "/workflows/%ZZ/executions"])("answers 400 for the malformed percent-encoding in %s", async (path) => {
    const method = path.startsWith("/workflows") ? "POST" : "GET";
    const response = await call(method, path, method === "POST" ? { args: [] } : undefined);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("FLOE_BAD_REQUEST");
    expect(response.body.error.message).toContain(`the path "${path}" has a malformed percent-encoding`);
    await nothingWritten();
  });
});

const leaf = task("api_leaf", async (i: number) => i);
export const wide = workflow("api_wide", async (n: number) => {
  const all = Array.from({ length: n }, (_, i) => leaf.submit(i));
  let sum = 0;
  for (const one of all) sum += await one.result();
  return sum;
});

describe("HTTP API answers past a Lambda response's limit", () => {
  it("gzips a large answer for a client that accepts gzip, which decodes to the plain answer", async () => {
    const { body } = await call("POST", "/workflows/api_wide/executions", { args: [400] });
    await call("GET", `/executions/${body.id}/result`, undefined, {}, { waitSeconds: "10" });
    const handler = createApiHandler({ runtime: engine });
    const plain = await handler(event("GET", `/runs/${body.id}`));
    const zipped = await handler(event("GET", `/runs/${body.id}`, undefined, { "accept-encoding": "gzip, deflate, br" }));
    expect(plain.isBase64Encoded).toBeFalsy();
    expect(zipped).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { "content-encoding": "gzip" } });
    const decoded = JSON.parse(gunzipSync(Buffer.from(zipped.body ?? "", "base64")).toString("utf8"));
    expect(decoded.executions).toHaveLength(401);
    expect({ ...decoded, cursor: undefined }).toEqual({ ...JSON.parse(plain.body ?? ""), cursor: undefined });
    expect((zipped.body ?? "").length).toBeLessThan((plain.body ?? "").length / 4);
  });

  it("sends a small answer as it is, and gzip refused with q=0 as if not offered", () => {
    expect(apiResponse(200, { ok: true }, "gzip")).toEqual({ statusCode: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' });
    const big = { text: "x".repeat(100_000) };
    expect(apiResponse(200, big, "gzip;q=0, identity").isBase64Encoded).toBeUndefined();
    expect(apiResponse(200, big, "*").isBase64Encoded).toBe(true);
  });

  it("answers an error naming the size, the limit and the fix instead of an answer Lambda would refuse", () => {
    const huge = { text: "x".repeat(MAX_RESPONSE_BYTES) };
    const response = apiResponse(200, huge, undefined);
    expect(response.statusCode).toBe(500);
    const { error } = JSON.parse(response.body ?? "");
    expect(error.code).toBe("FLOE_PAYLOAD_TOO_LARGE");
    expect(error.message).toMatch(/over the \d+ a Lambda response can hold; send Accept-Encoding: gzip/);
    // Gzipped, the same answer fits easily.
    expect(apiResponse(200, huge, "gzip").statusCode).toBe(200);
  });
});

export const measure = workflow("api_measure", async (text: string) => text.length);

describe("HTTP API idempotency keys", () => {
  const iam = (userArn: string) => ({ iam: { userArn } });
  const jwt = (iss: string, sub: string) => ({ jwt: { claims: { iss, sub }, scopes: null } });
  async function start(args: unknown[], key: string, authorizer?: unknown): Promise<{ status: number; body: any }> {
    const request = event("POST", "/workflows/api_measure/executions", { args }, { "Idempotency-Key": key });
    if (authorizer !== undefined) Object.assign(request.requestContext, { authorizer });
    const response = await createApiHandler({ runtime: engine })(request);
    return { status: response.statusCode ?? 0, body: JSON.parse(response.body ?? "null") };
  }

  it("answers 422 to the same key with another body over 32 KB, writing and sending nothing; the first run keeps its arguments (T22)", async () => {
    let sends = 0;
    const { queue, blobs } = engine.memory;
    const send = queue.send.bind(queue);
    queue.send = (...args) => {
      sends += 1;
      send(...args);
    };
    const ada = iam("arn:aws:iam::1:user/ada");
    const first = await start(["a".repeat(40_000)], "order-9", ada);
    expect(first.status).toBe(202);
    const done = await call("GET", `/executions/${first.body.id}/result`, undefined, {}, { waitSeconds: "5" });
    expect(done.body).toMatchObject({ state: "completed", result: 40_000 });
    const before = { sends, blobs: blobs.size, execution: await engine.getExecution(first.body.id) };
    expect(before.execution?.args).toHaveProperty("blob");

    const second = await start(["b".repeat(50_000)], "order-9", ada);
    expect(second.status).toBe(422);
    expect(second.body.error.code).toBe("FLOE_IDEMPOTENCY_CONFLICT");
    expect({ sends, blobs: blobs.size, execution: await engine.getExecution(first.body.id) }).toEqual(before);
    expect((await call("GET", `/executions/${first.body.id}`)).body.args).toEqual(["a".repeat(40_000)]);
    expect(await engine.listRuns()).toHaveLength(1);
  });

  it("scopes keys to the caller: IAM principals and JWT subjects apart, a role's sessions together, no identity apart from all", async () => {
    const ids = async (...callers: unknown[]) => {
      const started = [];
      for (const caller of callers) started.push(await start(["same"], "order-10", caller));
      expect(started.map((s) => s.status)).toEqual(callers.map(() => 202));
      return started.map((s) => s.body.id as string);
    };
    const [ada, bob, session1, session2, alice, eve, anonymous] = await ids(
      iam("arn:aws:iam::1:user/ada"),
      iam("arn:aws:iam::1:user/bob"),
      iam("arn:aws:sts::1:assumed-role/orders/i-0123"),
      iam("arn:aws:sts::1:assumed-role/orders/i-4567"),
      jwt("https://idp.example", "alice"),
      jwt("https://other.example", "alice"),
      undefined,
    );
    expect(session1).toBe(session2);
    expect(new Set([ada, bob, session1, alice, eve, anonymous]).size).toBe(6);
    expect(await ids(iam("arn:aws:iam::1:user/ada"), jwt("https://idp.example", "alice"), undefined)).toEqual([ada, alice, anonymous]);
    expect(await engine.listRuns()).toHaveLength(6);
  });

  it("shows each failed attempt's error and times, its stack only where stacks are allowed", async () => {
    flakyCalls = 0;
    const { body } = await call("POST", "/workflows/api_flaky/executions", {});
    const done = await call("GET", `/executions/${body.id}/result`, undefined, {}, { waitSeconds: "5" });
    expect(done.body).toMatchObject({ state: "completed", attempt: 3, result: "ok" });
    const failures = [
      { attempt: 1, error: { name: "TimeoutError", code: "FLOE_TIMEOUT", message: '"api_flaky" ran past its timeoutMs of 30000 ms' } },
      { attempt: 2, error: { name: "Error", message: "503 from gateway" } },
    ];
    const viewed = [(await call("GET", `/executions/${body.id}`)).body, (await call("GET", `/runs/${body.id}`)).body.executions[0]];
    for (const execution of viewed) {
      expect(execution.failures).toMatchObject(failures);
      for (const failure of execution.failures) {
        expect(failure.finishedAt).toBeGreaterThanOrEqual(failure.startedAt);
        expect(failure.error).not.toHaveProperty("stack");
      }
    }
    // The owner's own tools (floe dev with its secret, floe run in process) see the stacks.
    const owned = await localApi(() => engine)({ method: "GET", path: `/executions/${body.id}`, search: "", headers: {}, body: "", owner: true });
    expect((owned.body as { failures: { error: { stack?: string } }[] }).failures[1]?.error.stack).toMatch(/^Error: 503 from gateway\n\s+at /);
  });

  it("filters runs by workflow and state on the server and pages with a cursor while pages are full", async () => {
    const failed: string[] = [];
    for (let i = 0; i < 3; i += 1) failed.push((await call("POST", "/workflows/api_failing/executions", {})).body.id);
    const added = (await call("POST", "/workflows/api_add/executions", { args: [1, 2] })).body.id;
    for (const id of [...failed, added]) await call("GET", `/executions/${id}/result`, undefined, {}, { waitSeconds: "5" });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const list = await call("GET", "/runs", undefined, {}, { state: "failed", limit: "2", ...(cursor === undefined ? {} : { cursor }) });
      expect(list.status).toBe(200);
      seen.push(...list.body.runs.map((r: { id: string; state: string }) => (expect(r.state).toBe("failed"), r.id)));
      cursor = list.body.cursor;
      if (cursor === undefined) break;
    }
    expect(seen).toEqual([...failed].reverse());
    const both = await call("GET", "/runs", undefined, {}, { workflow: "api_add", state: "completed" });
    expect(both.body).toEqual({ runs: [expect.objectContaining({ id: added })] });
    expect((await call("GET", "/runs", undefined, {}, { workflow: "api_add", state: "failed" })).body).toEqual({ runs: [] });
  });

  it("lists sleeping runs with their wake time, and gives it for the execution", async () => {
    const before = Date.now();
    const { body } = await call("POST", "/workflows/api_napper/executions", {});
    await call("POST", "/workflows/api_add/executions", { args: [1, 2] });
    let read = await call("GET", `/executions/${body.id}`);
    for (let turn = 0; turn < 200 && read.body.state !== "sleeping"; turn += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      read = await call("GET", `/executions/${body.id}`);
    }
    expect(read.body).toMatchObject({ state: "sleeping", wakeAt: expect.any(Number) });
    expect(read.body.wakeAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(read.body.history.map((h: { state: string }) => h.state)).toEqual(["queued", "running", "sleeping"]);
    const list = await call("GET", "/runs", undefined, {}, { state: "sleeping" });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ runs: [expect.objectContaining({ id: body.id, state: "sleeping", wakeAt: read.body.wakeAt })] });
  });

  it.each([
    [{ state: "broken" }, "state", /state must be one of waiting, queued, running, suspended, sleeping, completed, failed, cancelled, got "broken"/],
    [{ cursor: "not a cursor" }, "cursor", /cursor "not a cursor" is not one this API gave out/],
    [{ cursor: Buffer.from('{"a":1}').toString("base64url") }, "cursor", /is not one this API gave out; pass the cursor of the previous page/],
    [{ cursor: Buffer.from('[-5,"x"]').toString("base64url") }, "cursor", /is not one this API gave out/],
  ])("answers 400 to GET /runs with %j, naming the field and the fix", async (query, field, message) => {
    const answer = await call("GET", "/runs", undefined, {}, query);
    expect(answer.status).toBe(400);
    expect(answer.body.error.fields[field]).toMatch(message);
    expect(answer.body.error.message).toMatch(message);
  });

  it("gives floe dev one caller: its key with another body gets 422", async () => {
    const api = localApi(() => engine);
    const post = (text: string) =>
      api({ method: "POST", path: "/workflows/api_measure/executions", search: "", headers: { "idempotency-key": "k" }, body: JSON.stringify({ args: [text] }), owner: false });
    const first = await post("one");
    expect(first.status).toBe(202);
    expect((await post("one")).body).toEqual(first.body);
    expect((await post("two")).status).toBe(422);
  });
});
