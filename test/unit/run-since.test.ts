/**
 * `GET /runs/{id}?since=<cursor>` on the embedded engine: a poll holds what changed since
 * the view that gave the cursor, and folded in with `mergeRun` it gives what a full read
 * gives, at every step of a fan-out the test drives gate by gate on its own clock.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mergeRun, task, workflow, type Execution } from "floe";
import { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { engineOf } from "../../sdk/api/engine.ts";
import { handleRequest, type HttpResponse } from "../../sdk/http/routes.ts";
import { SINCE_OVERLAP_MS } from "../../sdk/http/run-changes.ts";
import type { RunJson } from "../../sdk/http/views.ts";
import { edgeKey } from "../../sdk/engine/model.ts";
import { ManualClock } from "../support/manual-clock.ts";
import { inProcessApi } from "../../sdk/cli/in-process-api.ts";

const turns = async (n = 40) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

const gates = new Map<number, () => void>();
export const item = task("since_item", async (i: number) => {
  await new Promise<void>((resolve) => gates.set(i, resolve));
  return i * 10;
});
export const join = task("since_join", { wait: true }, async (parts: Execution<number>[]) => {
  let sum = 0;
  for (const part of parts) sum += await part.result();
  return sum;
});
// The workflow returns the join unawaited: the run ends when the join does.
export const fan = workflow("since_fan", async (n: number) => join.submit(Array.from({ length: n }, (_, i) => item.submit(i))));

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  gates.clear();
});

async function get(runtime: EmbeddedEngine, path: string, query: Record<string, string> = {}): Promise<HttpResponse> {
  return handleRequest(runtime, { method: "GET", path, query, headers: {}, body: undefined, caller: "test" });
}

async function runJson(runtime: EmbeddedEngine, id: string, since?: string): Promise<RunJson> {
  const response = await get(runtime, `/runs/${id}`, since === undefined ? {} : { since });
  expect(response.status).toBe(200);
  return response.body as RunJson;
}

/** A view with its lists in one order, and no cursor: what two reads of one state share. */
function normal(run: RunJson) {
  return {
    id: run.id,
    executions: [...run.executions].sort((a, b) => a.id.localeCompare(b.id)),
    edges: [...run.edges].sort((a, b) => edgeKey(a).localeCompare(edgeKey(b))),
  };
}

function start(n: number): { runtime: EmbeddedEngine; clock: ManualClock; run: Execution<number> } {
  const clock = new ManualClock(2_000_000_000_000);
  const runtime = new EmbeddedEngine({ clock, concurrency: 1_000 });
  engine = runtime;
  return { runtime, clock, run: runtime.submit(fan, n) };
}

describe("GET /runs/{id}?since=", () => {
  it("answers only the execution that changed, the downstream whose why it changes, and the root", async () => {
    const { runtime, clock, run } = start(5);
    await turns();
    // Read well after the run was made: its creation is older than the cursor's overlap.
    clock.advance(SINCE_OVERLAP_MS + 1_000);
    const full = await runJson(runtime, run.id);
    expect(full.cursor).toEqual(expect.any(String));
    expect(full.partial).toBeUndefined();
    const items = full.executions.filter((e) => e.task === "since_item");
    const joined = full.executions.find((e) => e.task === "since_join")!;
    expect(joined.why?.upstreams).toHaveLength(5);

    const changed = items[2]!;
    gates.get(2)!();
    await turns();
    clock.advance(SINCE_OVERLAP_MS + 1_000);
    const poll = await runJson(runtime, run.id, full.cursor);

    expect(poll.partial).toBe(true);
    expect(poll.executions.map((e) => e.id).sort()).toEqual([changed.id, joined.id, run.id].sort());
    expect(poll.executions.find((e) => e.id === changed.id)).toMatchObject({ state: "completed", result: 20 });
    // Arguments never change: sent with an execution's creation only, kept by the merge.
    expect(poll.executions.find((e) => e.id === changed.id)).not.toHaveProperty("args");
    // The downstream's why no longer names the upstream that finished.
    const why = poll.executions.find((e) => e.id === joined.id)?.why;
    expect(why?.upstreams?.map((u) => u.id)).not.toContain(changed.id);
    expect(why?.text).toMatch(/^waiting on 4 of 5 upstreams/);
    expect(poll.edges.map((e) => e.upstreamId)).toEqual([changed.id]);
    expect(normal(mergeRun(full, poll))).toEqual(normal(await runJson(runtime, run.id)));

    // Nothing changed: a poll holds the root and the join it forwarded to (the run's result), no edge.
    clock.advance(SINCE_OVERLAP_MS + 1_000);
    const quiet = await runJson(runtime, run.id, poll.cursor);
    expect(quiet.executions.map((e) => e.id).sort()).toEqual([run.id, joined.id].sort());
    expect(quiet.edges).toEqual([]);
  });

  it("gives, merged poll after poll, what a full read gives at every step of a running fan-out", async () => {
    const n = 24;
    const { runtime, clock, run } = start(n);
    await turns();
    clock.advance(SINCE_OVERLAP_MS + 1);
    let view = await runJson(runtime, run.id);
    // Gates opened out of order; some polls come within the overlap of the change before.
    const order = Array.from({ length: n }, (_, i) => (i * 7) % n);
    const wait = (step: number) => (step % 3 === 2 ? 700 : SINCE_OVERLAP_MS + 500);
    for (const [step, i] of order.entries()) {
      gates.get(i)!();
      await turns();
      clock.advance(wait(step));
      const poll = await runJson(runtime, run.id, view.cursor);
      expect(poll.partial).toBe(true);
      // The item, the join and the root, once the change before is past the overlap.
      if (step > 0 && wait(step - 1) > SINCE_OVERLAP_MS) expect(poll.executions.length, `step ${step}`).toBeLessThanOrEqual(3);
      view = mergeRun(view, poll);
      expect(normal(view), `step ${step}`).toEqual(normal(await runJson(runtime, run.id)));
    }
    expect(await run.result()).toBe(10 * ((n * (n - 1)) / 2));
    clock.advance(100);
    view = mergeRun(view, await runJson(runtime, run.id, view.cursor));
    const final = await runJson(runtime, run.id);
    expect(normal(view)).toEqual(normal(final));
    expect(final.executions.every((e) => e.state === "completed" && e.why === undefined)).toBe(true);
  });

  it("refuses a since that is not a cursor it gave, naming the fix, before it reads", async () => {
    const { runtime, run } = start(1);
    await turns();
    const listed = await get(runtime, "/runs", { limit: "1" });
    const listCursor = (listed.body as { cursor?: string }).cursor;
    for (const since of ["", "yesterday", "r1.", "r1.zzzzzzzzzzzz", "1700000000000", listCursor ?? "eyJ4Ijox"]) {
      const response = await get(runtime, `/runs/${run.id}`, { since });
      expect(response.status, since).toBe(400);
      expect(response.body).toMatchObject({
        error: { code: "FLOE_BAD_REQUEST", fields: { since: expect.stringContaining("pass the cursor of the previous answer of GET /runs/{id} as it came") } },
      });
    }
    const view = await runJson(runtime, run.id);
    expect((await get(runtime, "/runs/nobody", { since: view.cursor! })).status).toBe(404);
    expect((await get(runtime, "/runs/nobody", { since: "bad" })).status).toBe(400);
  });

  it("gives the same through the floe command's API client: run(id, since), merged, equals run(id)", async () => {
    const { runtime, clock, run } = start(3);
    const client = inProcessApi(runtime, "the embedded engine");
    await turns();
    clock.advance(SINCE_OVERLAP_MS * 2);
    const first = (await client.run(run.id))!;
    gates.get(0)!();
    await turns();
    clock.advance(SINCE_OVERLAP_MS * 2);
    const poll = (await client.run(run.id, first.cursor))!;
    expect(poll.partial).toBe(true);
    expect(poll.executions).toHaveLength(3);
    expect(normal(mergeRun(first, poll))).toEqual(normal((await client.run(run.id))!));
    await expect(client.run(run.id, "nope")).rejects.toThrow("leave since out");
  });

  it("gives the same on the Engine: getRun with since, merged, equals a full getRun", async () => {
    const { runtime, clock, run } = start(3);
    const facade = engineOf(runtime);
    await turns();
    clock.advance(SINCE_OVERLAP_MS * 2);
    const first = (await facade.getRun(run))!;
    gates.get(1)!();
    await turns();
    clock.advance(SINCE_OVERLAP_MS * 2);
    const poll = (await facade.getRun(run, { since: first.cursor }))!;
    expect(poll.partial).toBe(true);
    expect(poll.executions.map((e) => e.task).sort()).toEqual(["since_fan", "since_item", "since_join"]);
    const merged = mergeRun(first, poll);
    const full = (await facade.getRun(run))!;
    const sorted = (r: typeof full) => [...r.executions].sort((a, b) => a.id.localeCompare(b.id));
    expect(sorted(merged)).toEqual(sorted(full));
    await expect(facade.getRun(run, { since: "nope" })).rejects.toMatchObject({ code: "FLOE_INVALID_OPTION", message: expect.stringContaining("leave since out") });
  });
});
