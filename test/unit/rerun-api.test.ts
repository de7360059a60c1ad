/**
 * The re-run and bulk-cancel routes through the API Lambda's handler, over the embedded
 * engine: `POST /executions/{id}/rerun` (202, 409 naming the state, 404) and
 * `POST /workflows/{name}/cancel` (counts, dry run, paging, bad input that cancels nothing).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHandler } from "../../functions/api.ts";
import { task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { apiEvent } from "../support/api-event.ts";
import { latch, openLatch, unique } from "../conformance/probes.ts";

let failNext = true;
export const flakyStep = task("rra_flaky_step", async () => {
  if (failNext) throw new Error("the upstream API answered 503");
  return "ok";
});
export const report = workflow("rra_report", async () => `report ${await flakyStep.submit().result()}`);
export const held = workflow("rra_held", async (key: string) => {
  await latch(key);
  return key;
});
export const helperTask = task("rra_helper", async () => 1);

let engine: EmbeddedEngine;
beforeEach(() => {
  engine = createEmbeddedRuntime();
});
afterEach(async () => {
  await engine.close();
});

async function call(method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<{ status: number; body: any }> {
  const handler = createApiHandler({ runtime: engine, routes: { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))) } });
  const response = await handler(apiEvent(method, path, { body, query }));
  return { status: response.statusCode ?? 0, body: JSON.parse(response.body ?? "null") };
}

async function finished(id: string): Promise<any> {
  return (await call("GET", `/executions/${id}/result`, undefined, { waitSeconds: "5" })).body;
}

describe("POST /executions/{id}/rerun", () => {
  it("re-runs a failed run (202 with the root's id), refuses it while live (409) and once completed (409)", async () => {
    failNext = true;
    const { body } = await call("POST", "/workflows/rra_report/executions", {});
    expect((await finished(body.id)).state).toBe("failed");
    failNext = false;
    const again = await call("POST", `/executions/${body.id}/rerun`);
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id: body.id, runId: body.id, attempt: 2, statusUrl: `/executions/${body.id}` });
    const twice = await call("POST", `/executions/${body.id}/rerun`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe("FLOE_CONFLICT");
    expect(twice.body.error.message).toMatch(/is (queued|running|suspended): only a failed or cancelled run can be re-run/);
    const done = await finished(body.id);
    expect(done).toMatchObject({ state: "completed", result: "report ok", attempt: 2 });
    expect(done.failures.map((f: { attempt: number }) => f.attempt)).toEqual([1]);
    const completed = await call("POST", `/executions/${body.id}/rerun`);
    expect(completed.status).toBe(409);
    expect(completed.body.error.message).toContain("is completed: only a failed or cancelled run can be re-run");
  });

  it("answers 404 for an unknown id", async () => {
    const unknown = await call("POST", "/executions/nope/rerun");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("FLOE_UNKNOWN_EXECUTION");
  });
});

describe("POST /workflows/{name}/cancel", () => {
  it("cancels the runs of a workflow in a state, pages with limit, and lists them on a dry run", async () => {
    const key = unique("bulk");
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await call("POST", "/workflows/rra_held/executions", { args: [key] })).body.id);
    const other = (await call("POST", "/workflows/rra_report/executions", {})).body.id;
    await new Promise((resolve) => setTimeout(resolve, 20));

    const dry = await call("POST", "/workflows/rra_held/cancel", { state: "running", dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ workflow: "rra_held", state: "running", dryRun: true, matched: 3, more: false });
    expect([...dry.body.ids].sort()).toEqual([...ids].sort());
    expect((await engine.getExecution(ids[0] ?? ""))?.state).toBe("running");

    const first = await call("POST", "/workflows/rra_held/cancel", { state: "running", limit: 2 });
    expect(first.body).toMatchObject({ cancelled: 2, more: true });
    const rest = await call("POST", "/workflows/rra_held/cancel", { state: "running" });
    expect(rest.body).toMatchObject({ cancelled: 1, more: false });
    expect([...first.body.ids, ...rest.body.ids].sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await engine.getExecution(id))?.state).toBe("cancelled");
    // Another workflow's run is left alone.
    expect((await engine.getExecution(other))?.state).not.toBe("cancelled");
    openLatch(key);
  });

  it("refuses bad input with 400 or 404 naming the fix, cancelling nothing", async () => {
    const key = unique("bad");
    const { body } = await call("POST", "/workflows/rra_held/executions", { args: [key] });
    const cases: [string, unknown, number, RegExp][] = [
      ["/workflows/rra_held/cancel", { state: "completed" }, 400, /state must be one of waiting, queued, running, suspended, sleeping \(the live states\)/],
      ["/workflows/rra_held/cancel", {}, 400, /state must be one of/],
      ["/workflows/rra_held/cancel", { state: "running", limit: 0 }, 400, /limit must be a whole number from 1 to 1000/],
      ["/workflows/rra_held/cancel", { state: "running", dryrun: true }, 400, /dryrun/],
      ["/workflows/rra_nope/cancel", { state: "running" }, 404, /no workflow is named "rra_nope"/],
      ["/workflows/rra_helper/cancel", { state: "running" }, 404, /is a task, not a workflow/],
    ];
    for (const [path, request, status, message] of cases) {
      const answer = await call("POST", path, request);
      expect(answer.status, JSON.stringify(request)).toBe(status);
      expect(answer.body.error.message).toMatch(message);
    }
    const bad = await call("POST", "/workflows/rra_held/cancel", "{not json");
    expect(bad.status).toBe(400);
    expect((await engine.getExecution(body.id))?.state).not.toBe("cancelled");
    openLatch(key);
  });
});
