import { describe, expect, it } from "vitest";
import { EdgeKind, State, type Edge, type ExecutionRecord, type ExecutionState } from "../../sdk/engine/model.ts";
import { whyOf, whyText } from "../../sdk/http/why.ts";
import { tree } from "../../sdk/cli/render.ts";

const t0 = Date.parse("2026-12-02T09:14:03Z");

function rec(id: string, state: ExecutionState, more: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return { id, runId: "r", taskName: id, args: { inline: "[]" }, state, attempt: 1, generation: 1, pending: 0, guarded: false, waitMode: "all", createdAt: t0, history: [], ...more };
}

function edge(upstreamId: string, downstreamId: string, generation = 1, kind: Edge["kind"] = EdgeKind.Argument): Edge {
  // released stays false as DynamoDB's links give it: the upstream's state decides.
  return { upstreamId, downstreamId, runId: "r", kind, waits: true, generation, released: false, createdAt: t0 };
}

describe("why an execution is not finished", () => {
  it("names the unfinished upstreams of a waiting execution, of this generation only", () => {
    const run = {
      executions: [rec("charge_card", State.Running), rec("reserve_stock", State.Queued), rec("load", State.Completed), rec("old", State.Running), rec("ship", State.Waiting, { generation: 2 })],
      edges: [edge("charge_card", "ship", 2), edge("reserve_stock", "ship", 2), edge("load", "ship", 2), edge("old", "ship", 1)],
    };
    const why = whyOf(run.executions[4] as ExecutionRecord, run);
    expect(why).toEqual({
      reason: "waiting-upstreams",
      text: "waiting on 2 of 3 upstreams: charge_card (running), reserve_stock (queued)",
      upstreams: [
        { id: "charge_card", task: "charge_card", state: "running" },
        { id: "reserve_stock", task: "reserve_stock", state: "queued" },
      ],
    });
  });

  it("names 5 of a fan-in of 10 and counts the rest", () => {
    const ups = Array.from({ length: 10 }, (_, i) => rec(`part_${i}`, State.Queued));
    const down = rec("merge", State.Waiting);
    const why = whyOf(down, { executions: [...ups, down], edges: ups.map((u) => edge(u.id, "merge")) });
    expect(why?.text).toBe("waiting on 10 of 10 upstreams: part_0 (queued), part_1 (queued), part_2 (queued), part_3 (queued), part_4 (queued), 5 more");
    expect(why?.upstreams).toHaveLength(10);
  });

  it("lists 20 of a fan-in of 30 and counts the rest, so a live poll stays small", () => {
    const ups = Array.from({ length: 30 }, (_, i) => rec(`part_${i}`, State.Queued));
    const down = rec("merge", State.Waiting);
    const why = whyOf(down, { executions: [...ups, down], edges: ups.map((u) => edge(u.id, "merge")) });
    expect(why?.upstreams?.map((u) => u.id)).toEqual(ups.slice(0, 20).map((u) => u.id));
    expect(why?.unlisted).toBe(10);
    expect(why?.text).toMatch(/^waiting on 30 of 30 upstreams: .*, 25 more$/);
  });

  it("says what a suspension awaits, on two", () => {
    const run = {
      executions: [rec("fetch_rates", State.Running), rec("fetch_fees", State.Waiting), rec("quote", State.Suspended, { generation: 3 })],
      edges: [edge("fetch_rates", "quote", 3, EdgeKind.Await), edge("fetch_fees", "quote", 3, EdgeKind.Await)],
    };
    expect(whyOf(run.executions[2] as ExecutionRecord, run)?.text).toBe("suspended, awaiting fetch_rates (running), fetch_fees (waiting)");
  });

  it("says when a retry runs and why the attempt before failed", () => {
    const failure = { attempt: 2, startedAt: t0, finishedAt: t0 + 5, error: { name: "Error", message: "card declined" } };
    const r = rec("charge", State.Queued, { attempt: 3, startedAt: t0, queuedAt: t0 + 5, notBefore: t0 + 57_000, failures: [failure] });
    expect(whyOf(r, { executions: [r], edges: [] })).toEqual({
      reason: "retry-scheduled",
      text: "retry 3 at 2026-12-02 09:15:00Z, after attempt 2 failed: card declined",
      until: t0 + 57_000,
    });
  });

  it("says a delayed start's time, a queue's start, a sleep's wake, an external's timeout and a run", () => {
    const at = t0 + 60_000;
    const one = (r: ExecutionRecord) => whyOf(r, { executions: [r], edges: [] });
    expect(one(rec("a", State.Queued, { queuedAt: t0, notBefore: at }))).toEqual({ reason: "delayed-start", text: "starts at 2026-12-02 09:15:03Z", until: at });
    expect(one(rec("a", State.Queued, { queuedAt: t0, history: [{ state: State.Queued, at: t0 + 1000, attempt: 1 }] }))).toEqual({
      reason: "queued",
      text: "queued since 2026-12-02 09:14:04Z",
      since: t0 + 1000,
    });
    expect(one(rec("a", State.Sleeping, { startedAt: t0, notBefore: at }))).toEqual({ reason: "sleeping", text: "sleeping until 2026-12-02 09:15:03Z", until: at });
    expect(one(rec("a", State.Waiting, { external: { timeoutAt: at } }))).toEqual({
      reason: "external",
      text: "waiting for completion from outside until 2026-12-02 09:15:03Z",
      until: at,
    });
    expect(one(rec("a", State.Running, { startedAt: t0, attempt: 2 }))?.reason).toBe("running");
    expect(one(rec("a", State.Completed))).toBeUndefined();
  });

  it("adds how long it has been so for a reader that knows the time", () => {
    expect(whyText({ text: "queued since x", since: t0 }, t0 + 12_000, (ms) => `${ms / 1000} s`)).toBe("queued since x (12 s)");
    expect(whyText({ text: "starts at x" }, t0, String)).toBe("starts at x");
  });
});

describe("floe inspect's line for it", () => {
  it("prints the API's why under the execution, with how long it has been so, instead of the times alone", () => {
    const base = { runId: "r", attempt: 1, createdAt: t0, history: [], args: [] };
    const run = {
      id: "r",
      executions: [
        { ...base, id: "r", task: "order", state: State.Queued, queuedAt: t0, notBefore: t0 + 60_000, why: { reason: "queued" as const, text: "queued since 09:14:03", since: t0 } },
      ],
      edges: [],
    };
    const text = tree(run, undefined, t0 + 12_000);
    expect(text).toContain("⏲ queued since 09:14:03 (12.00 s)");
    // The old "starts at" line is the why's to say, not printed beside it.
    expect(text).not.toContain("starts at");
  });
});
