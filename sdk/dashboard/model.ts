/**
 * What the views draw, read from a run as `GET /runs/{id}` gives it: each execution's time
 * split into segments, the run's span, and a call's label (rows and the graph's nodes and
 * edges, with their groups, are in `groups.ts`).
 */
import type { ExecutionJson, RunJson } from "../http/views.ts";

/**
 * What an execution was doing during a segment of its time; `folded` is a stretch whose
 * transitions the engine compacted into a count (an awaited chain's re-runs).
 */
export type SegmentKind = "waiting" | "queued" | "running" | "suspended" | "sleeping" | "folded";

/** How a running segment ended: the attempt's outcome, or `running` while it goes on. */
export type Outcome = "completed" | "failed" | "retried" | "cancelled" | "suspended" | "sleeping" | "running";

/** A stretch of an execution's time, from one transition to the next. */
export interface Segment {
  readonly kind: SegmentKind;
  readonly from: number;
  readonly to: number;
  readonly attempt: number;
  /** Set on running segments. */
  readonly outcome?: Outcome;
  /** Set on a folded segment: how many transitions it stands for. */
  readonly folded?: number;
}

const terminal = new Set(["completed", "failed", "cancelled"]);

/** Whether the state is final. */
export function isTerminal(state: string): boolean {
  return terminal.has(state);
}

/** Whether every execution of the run has finished (fire-and-forget work included). */
export function settled(run: RunJson): boolean {
  return run.executions.every((e) => isTerminal(e.state));
}

/** The execution's time as segments, read from its history; the last open one ends at `now`. */
export function segments(e: ExecutionJson, now: number): Segment[] {
  const history = [...e.history].sort((a, b) => a.at - b.at);
  const out: Segment[] = [];
  history.forEach((t, i) => {
    if (isTerminal(t.state)) return;
    const next = history[i + 1];
    const to = next?.at ?? e.finishedAt ?? now;
    if (t.folded !== undefined) {
      out.push({ kind: "folded", from: t.at, to, attempt: t.attempt, folded: t.folded });
      return;
    }
    const kind = t.state as SegmentKind;
    if (kind !== "running") {
      out.push({ kind, from: t.at, to, attempt: t.attempt });
      return;
    }
    const outcome: Outcome =
      next === undefined ? "running" : next.state === "queued" || next.state === "waiting" ? "retried" : (next.state);
    out.push({ kind, from: t.at, to, attempt: t.attempt, outcome });
  });
  return out;
}

/** The run's time span: first creation to last finish (or `now` while it runs). */
export function span(run: RunJson, now: number): { start: number; end: number } {
  // Loops, not Math.min(...): a spread of every time of a wide run can pass the engine's argument limit.
  let start = Infinity;
  let end = settled(run) ? -Infinity : now;
  for (const e of run.executions) {
    start = Math.min(start, e.createdAt);
    end = Math.max(end, e.finishedAt ?? 0);
    for (const t of e.history) end = Math.max(end, t.at);
  }
  return { start, end: Math.max(end, start + 1) };
}

/** `load_user("u1")`: the task name, with its arguments when they are short plain values. */
export function label(e: Pick<ExecutionJson, "task" | "args" | "argsText">): string {
  if (e.argsText !== undefined) return `${e.task}(${e.argsText.length > 28 ? "…" : e.argsText})`;
  const args = Array.isArray(e.args) ? (e.args as unknown[]) : undefined;
  const parts = args?.map((a) =>
    typeof a === "string" ? JSON.stringify(a) : typeof a === "number" || typeof a === "boolean" || a === null ? String(a) : undefined,
  );
  const preview = parts !== undefined && parts.every((p) => p !== undefined) ? parts.join(", ") : "…";
  return `${e.task}(${preview.length > 28 ? "…" : preview})`;
}
