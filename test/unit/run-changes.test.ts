/**
 * The selection behind `?since=` and its merge, on records made by hand: a change dated a
 * little before the cursor (a writer whose write landed late) is sent again, and a merge
 * never mixes two runs.
 */
import { describe, expect, it } from "vitest";
import { State, WaitMode, type Edge, type ExecutionRecord } from "../../sdk/engine/model.ts";
import { changedAt, changesSince, SINCE_OVERLAP_MS } from "../../sdk/http/run-changes.ts";
import { mergeRun } from "../../sdk/http/merge-run.ts";
import { runView } from "../../sdk/http/describe.ts";
import { cursorTime, sinceCursor } from "../../sdk/http/since-cursor.ts";
import type { RunJson } from "../../sdk/http/views.ts";

const record = (id: string, at: number, state: ExecutionRecord["state"] = State.Completed): ExecutionRecord => ({
  id, runId: "root", taskName: "t", args: { inline: "J[]" }, state, attempt: 1, generation: 1, pending: 0, guarded: false,
  waitMode: WaitMode.All, createdAt: 1_000, history: [{ state, at, attempt: 1 }],
});
const edge = (upstreamId: string, downstreamId: string): Edge => ({
  upstreamId, downstreamId, runId: "root", kind: "argument", waits: true, generation: 1, released: false, createdAt: 1_000,
});

describe("changesSince", () => {
  it("sends again a change dated up to the overlap before the cursor, not one older", () => {
    const cursor = 100_000;
    const run = {
      id: "root",
      executions: [record("root", 1_000), record("late", cursor - SINCE_OVERLAP_MS + 1), record("old", cursor - SINCE_OVERLAP_MS - 1)],
      edges: [],
    };
    const picked = changesSince(run, cursor - SINCE_OVERLAP_MS).executions.map((e) => e.id);
    expect(picked).toEqual(["root", "late"]);
  });

  it("has a since view send a change a slow writer dated before the cursor, once it lands", async () => {
    const cursor = 100_000;
    // Written after the read that gave the cursor, by a writer whose clock or write lagged a second.
    const late = record("late", cursor - 1_000);
    const run = { id: "root", root: record("root", 1_000), executions: [record("root", 1_000), late], edges: [] };
    const view = await runView(run, (p) => ("inline" in p ? p.inline : ""), { since: cursor, readAt: cursor + 500 });
    expect(view.executions.map((e) => e.id)).toEqual(["root", "late"]);
    expect(view).toMatchObject({ partial: true, cursor: sinceCursor(cursor + 500) });
  });

  it("dates a record by its latest transition, time or failure", () => {
    const r = { ...record("r", 5_000), failures: [{ attempt: 1, finishedAt: 7_000, error: { name: "E", message: "m" } }] };
    expect(changedAt(r)).toBe(7_000);
  });

  it("takes the unfinished downstream of a changed upstream, with the edge between them", () => {
    const run = { id: "root", executions: [record("root", 1_000), record("up", 50_000), record("down", 1_000, State.Waiting)], edges: [edge("up", "down")] };
    const picked = changesSince(run, 40_000);
    expect(picked.executions.map((e) => e.id)).toEqual(["root", "up", "down"]);
    expect(picked.edges).toEqual([edge("up", "down")]);
  });
});

describe("mergeRun", () => {
  const view = (id: string, extra: Partial<RunJson> = {}): RunJson => ({ id, executions: [], edges: [], ...extra });
  it("refuses to merge a view of another run", () => {
    expect(() => mergeRun(view("a"), view("b", { partial: true }))).toThrow("cannot merge a view of run b into one of run a");
  });
  it("takes a whole view as it is", () => {
    const whole = view("a", { cursor: "r1.1" });
    expect(mergeRun(view("a", { cursor: "r1.0" }), whole)).toBe(whole);
  });
});

describe("since cursors", () => {
  it("hold the read time", () => {
    expect(cursorTime(sinceCursor(1_764_000_000_123))).toBe(1_764_000_000_123);
  });
});
