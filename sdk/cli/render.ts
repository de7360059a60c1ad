/**
 * Text renderings of a run for the terminal: the timeline (the examples' renderer), a tree
 * of executions with states, attempts, durations and errors, and a table of runs.
 */
import type { ExecutionRecord, RunView } from "../engine/model.ts";
import { isTerminal } from "../engine/model.ts";
import { renderTimeline } from "./timeline.ts";
import { whyText } from "../http/why.ts";
import type { ErrorJson, ExecutionJson, FailedAttemptJson, RunJson, RunSummaryJson } from "../http/views.ts";

/** `load_user("u1")`: the task name, with its arguments when they are short plain values. */
export function label(execution: Pick<ExecutionJson, "task" | "args" | "argsText">): string {
  if (execution.argsText !== undefined) return `${execution.task}(${execution.argsText.length > 40 ? "…" : execution.argsText})`;
  const args = Array.isArray(execution.args) ? execution.args : undefined;
  const parts = args?.map((a: unknown) =>
    typeof a === "string" ? JSON.stringify(a) : typeof a === "number" || typeof a === "boolean" || a === null ? String(a) : undefined,
  );
  const preview = parts !== undefined && parts.every((p) => p !== undefined) ? parts.join(", ") : "…";
  return `${execution.task}(${preview.length > 40 ? "…" : preview})`;
}

/** The run as the timeline renderer reads it (only the fields it uses are meaningful). */
function toRunView(run: RunJson): RunView {
  const records = run.executions.map(
    (e): ExecutionRecord => ({
      id: e.id,
      runId: e.runId,
      ...(e.parentId === undefined ? {} : { parentId: e.parentId }),
      taskName: e.task,
      args: { inline: "" },
      state: e.state,
      attempt: e.attempt,
      generation: 0,
      pending: 0,
      guarded: false,
      waitMode: "all",
      createdAt: e.createdAt,
      ...(e.queuedAt === undefined ? {} : { queuedAt: e.queuedAt }),
      ...(e.startedAt === undefined ? {} : { startedAt: e.startedAt }),
      ...(e.finishedAt === undefined ? {} : { finishedAt: e.finishedAt }),
      history: [...e.history],
    }),
  );
  const root = records.find((r) => r.id === run.id) ?? records[0];
  if (root === undefined) throw new Error(`run ${run.id} has no executions`);
  return { id: run.id, root, executions: records, edges: run.edges };
}

/** The run's timeline: one bar per execution, waiting `·` and running `█`. */
export function timeline(run: RunJson, width = 60, now?: number): string {
  const labels = new Map(run.executions.map((e) => [e.id, label(e)]));
  return renderTimeline(toRunView(run), width, {
    ...(now === undefined ? {} : { now }),
    label: (record) => labels.get(record.id) ?? record.taskName,
  });
}

/** `850 ms`, `1.25 s`, `3 min 5 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** How long an execution waited (created to first start) and ran (attempts summed). */
export function durations(e: ExecutionJson, now = Date.now()): { waited: number; ran: number; total: number } {
  const history = [...e.history].sort((a, b) => a.at - b.at);
  let ran = 0;
  history.forEach((t, i) => {
    if (t.state === "running") ran += (history[i + 1]?.at ?? e.finishedAt ?? now) - t.at;
  });
  const firstStart = history.find((t) => t.state === "running")?.at;
  return { waited: (firstStart ?? e.finishedAt ?? now) - e.createdAt, ran, total: (e.finishedAt ?? now) - e.createdAt };
}

/**
 * The run as a tree under its root: each execution's state, attempts, how long it waited
 * and ran, what it waits for, why it is not done (its `why`), and its error.
 *
 * @param highlight - an execution to mark with `◀`
 */
export function tree(run: RunJson, highlight?: string, now = Date.now()): string {
  const children = new Map<string | undefined, ExecutionJson[]>();
  const ids = new Set(run.executions.map((e) => e.id));
  for (const e of [...run.executions].sort((a, b) => a.createdAt - b.createdAt)) {
    const parent = e.parentId !== undefined && ids.has(e.parentId) ? e.parentId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), e]);
  }
  const names = new Map(run.executions.map((e) => [e.id, e.task]));
  const upstreams = new Map<string, string[]>();
  for (const edge of run.edges) upstreams.set(edge.downstreamId, [...(upstreams.get(edge.downstreamId) ?? []), names.get(edge.upstreamId) ?? edge.upstreamId]);
  // Each row is [tree and label, the rest]; error lines have no second part.
  const rows: [string, string?][] = [];
  const visit = (e: ExecutionJson, prefix: string, branch: string, last: boolean): void => {
    const { waited, ran, total } = durations(e, now);
    const state = isTerminal(e.state) ? e.state : `${e.state}…`;
    const attempts = e.attempt > 1 ? `, ${e.attempt} attempts` : "";
    const after = upstreams.get(e.id);
    rows.push([
      `${prefix}${branch}${label(e)}`,
      `${state.padEnd(10)} ${formatMs(total)} (waited ${formatMs(waited)}, ran ${formatMs(ran)}${attempts})` +
        `${after === undefined ? "" : `  after ${[...new Set(after)].join(", ")}`}  ${e.id}${e.id === highlight ? "  ◀" : ""}`,
    ]);
    const inner = prefix + (branch === "" ? "" : last ? "   " : "│  ");
    const kids = children.get(e.id) ?? [];
    const margin = `${inner}${kids.length > 0 ? "│" : " "}  `;
    const retried = retriedAttempts(e);
    for (const line of retried) rows.push([`${margin}↻ ${line.text}`]);
    // The API's `why` says it for every surface; an older API's view has only the times.
    if (e.why !== undefined) rows.push([`${margin}⏲ ${whyText(e.why, now, formatMs)}`]);
    for (const text of e.why === undefined ? [dueText(e), externalText(e)] : []) if (text !== undefined) rows.push([`${margin}⏲ ${text}`]);
    const reused = reusedText(e);
    if (reused !== undefined) rows.push([`${margin}↺ ${reused}`]);
    // A retry keeps its attempt's error as the execution's until the next ends: shown above.
    if (e.error !== undefined && (retried.length === 0 || isTerminal(e.state))) {
      rows.push([`${margin}✗ ${errorText(e.error)}`]);
    }
    kids.forEach((child, i) => visit(child, inner, i === kids.length - 1 ? "└─ " : "├─ ", i === kids.length - 1));
  };
  for (const top of children.get(undefined) ?? []) visit(top, "", "", true);
  const width = Math.max(...rows.filter((r) => r[1] !== undefined).map(([left]) => left.length));
  const lines = rows.map(([left, rest]) => (rest === undefined ? left : `${left.padEnd(width)}  ${rest}`));
  return lines.join("\n");
}

/**
 * When an execution with a start to come runs: "sleeping until …" (a `sleep`), or, queued,
 * "starts at …" (a delayed start) or "retries at …" (a retry's delay).
 */
export function dueText(e: Pick<ExecutionJson, "notBefore" | "wakeAt" | "startedAt" | "attempt" | "failures">): string | undefined {
  if (e.wakeAt !== undefined) return `sleeping until ${new Date(e.wakeAt).toISOString()}`;
  if (e.notBefore === undefined) return undefined;
  const at = new Date(e.notBefore).toISOString();
  if (e.startedAt === undefined) return `starts at ${at}`;
  if (e.failures?.some((f) => f.attempt === e.attempt - 1) === true) return `retries at ${at}`;
  return `sleeping until ${at}`;
}

/** Where a reused execution's result came from: "cached from <id>" or "debounced into <id>". */
export function reusedText(e: Pick<ExecutionJson, "cachedFrom" | "debounced" | "forward">): string | undefined {
  if (e.cachedFrom !== undefined) return `cached from ${e.cachedFrom} (did not run)`;
  if (e.debounced === true && e.forward !== undefined) return `debounced into ${e.forward} (a later call of its window; did not run)`;
  return undefined;
}

/** What an external execution still waiting waits for: "waiting for completion from outside until …". */
export function externalText(e: Pick<ExecutionJson, "external" | "state">): string | undefined {
  if (e.external === undefined || e.state !== "waiting") return undefined;
  return `waiting for completion from outside until ${new Date(e.external.timeoutAt).toISOString()}`;
}

/** `TimeoutError [FLOE_TIMEOUT]: message`, marked when the stored text was cut. */
export function errorText(error: ErrorJson & { readonly truncated?: boolean }): string {
  return `${error.name}${error.code === undefined ? "" : ` [${error.code}]`}: ${error.message}${error.truncated === true ? " (truncated)" : ""}`;
}

/** `attempt 1 failed after 30.00 s: TimeoutError [FLOE_TIMEOUT]: …`: one failed attempt. */
export function failureText(failure: FailedAttemptJson): string {
  const took = failure.startedAt === undefined ? "" : ` after ${formatMs(failure.finishedAt - failure.startedAt)}`;
  return `attempt ${failure.attempt} failed${took}: ${errorText(failure.error)}`;
}

/**
 * The failed attempts of `e` that another attempt followed, one line each, after a line
 * counting those no longer kept; the final failure of a failed execution is its error.
 */
export function retriedAttempts(e: Pick<ExecutionJson, "failures" | "earlierFailures" | "state" | "attempt">): { text: string; stack?: string }[] {
  const retried = (e.failures ?? []).filter((f) => !(e.state === "failed" && f.attempt === e.attempt));
  const earlier = e.earlierFailures ?? 0;
  return [
    ...(earlier > 0 ? [{ text: `${earlier} earlier failed attempt${earlier === 1 ? "" : "s"} not kept` }] : []),
    ...retried.map((f) => ({ text: failureText(f), ...(f.error.stack === undefined ? {} : { stack: f.error.stack }) })),
  ];
}

/** Recent runs as a table. */
export function runsTable(runs: readonly RunSummaryJson[], now = Date.now()): string {
  if (runs.length === 0) return "no runs yet";
  const rows = runs.map((r) => [
    r.id,
    r.task,
    r.wakeAt === undefined ? r.state : `sleeping until ${new Date(r.wakeAt).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")}`,
    new Date(r.createdAt).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"),
    formatMs((r.finishedAt ?? now) - r.createdAt) + (r.finishedAt === undefined ? "…" : ""),
  ]);
  const header = ["RUN", "WORKFLOW", "STATE", "STARTED", "DURATION"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}
