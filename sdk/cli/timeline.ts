/**
 * A text timeline of a run, for the examples and the demo: one row per execution, with a
 * bar across the run's time span that shows when it was waiting (`·`), sleeping (`z`) and
 * running (`█`), read from each execution's `history`.
 *
 * ```text
 *                            0                       115 ms
 * process_order("u1", "p1") │██                            │ completed     7 ms, ran 6 ms
 *   load_user("u1")         │·█████████████████████████████│ completed   111 ms, ran 110 ms
 *   load_product("p1")      │ █████████████████████████████│ completed   111 ms, ran 111 ms
 *   create_order(…)         │ ····························█│ completed   111 ms, ran 0 ms
 * wall time 115 ms   first creation to last finish
 * task time 221 ms   running time summed over 3 tasks, root excluded: 1.92× the wall time
 * █ running   · waiting, queued or suspended
 * ```
 */
import { decodeValue } from "../codec/codec.ts";
import { State, type ExecutionRecord, type ExecutionState, type RunView } from "../engine/model.ts";

/** Options of {@link renderTimeline}. */
export interface TimelineOptions {
  /**
   * The current time, epoch milliseconds: unfinished executions are drawn up to it.
   * @default the run's latest transition
   */
  readonly now?: number;
  /**
   * The text at the start of an execution's row (indented by the renderer).
   * @default the task name, with its arguments when they are short plain values
   */
  readonly label?: (record: ExecutionRecord) => string;
}

/** The characters of a timeline bar. */
export const Glyph = {
  /** Running an attempt. */
  Running: "█",
  /** Waiting for upstreams, queued (also between retries) or suspended. */
  Waiting: "·",
  /** Sleeping in `sleep` until its wake time. */
  Sleeping: "z",
  /** Not created yet, or finished. */
  Absent: " ",
  /** A stretch of re-runs and suspensions whose transitions the engine folded into a count. */
  Folded: "░",
} as const;

type Kind = "running" | "waiting" | "sleeping" | "folded";

interface Segment {
  readonly kind: Kind;
  readonly from: number;
  readonly to: number;
  /** How many transitions a folded segment stands for. */
  readonly folded?: number;
}

const terminal: ReadonlySet<ExecutionState> = new Set([State.Completed, State.Failed, State.Cancelled]);
const maxLabel = 36;

/**
 * Renders a run as a text timeline: one row per execution, in creation order under its
 * parent and indented by depth, each with a bar across the run's time span (`·` waiting,
 * queued or suspended, `z` sleeping, `█` running; each attempt of a retried execution is
 * its own running segment; `░` a stretch of a compacted history, whose transitions are
 * only counted), then its state and how long it took. A footer sets the run's wall
 * time beside the sum of its tasks' running times, which shows how much ran in parallel.
 *
 * @param run - what `engine.getRun(id)` returned
 * @param width - the bar's width in characters
 * @param options - the current time for unfinished runs, and row labels
 * @returns the timeline, lines joined with `\n`, without a trailing newline
 * @throws RangeError when `width` is not a whole number from 1 to 1000
 * @example
 * const run = await engine.getRun(execution.id);
 * if (run !== undefined) console.log(renderTimeline(run));
 */
export function renderTimeline(run: RunView, width = 60, options: TimelineOptions = {}): string {
  if (!Number.isInteger(width) || width < 1 || width > 1000) {
    throw new RangeError(`renderTimeline: width must be a whole number from 1 to 1000, got ${width}`);
  }
  const label = options.label ?? defaultLabel;
  const rows = ordered(run);
  const start = Math.min(...run.executions.map((e) => Math.min(e.createdAt, ...e.history.map((h) => h.at))));
  const latest = Math.max(...run.executions.map((e) => Math.max(e.finishedAt ?? 0, ...e.history.map((h) => h.at))));
  const end = Math.max(latest, options.now ?? latest);
  const span = Math.max(end - start, 1);

  const labels = rows.map(({ record, depth }) => "  ".repeat(depth) + truncate(label(record), maxLabel));
  const labelWidth = Math.max(...labels.map((l) => l.length), 0);
  const lines: string[] = [];
  const axisEnd = formatMs(end - start);
  lines.push(`${"".padEnd(labelWidth)}  0${axisEnd.padStart(Math.max(width - 1, axisEnd.length))}`);

  let taskTime = 0;
  let tasks = 0;
  let anyFolded = false;
  let anySleeping = false;
  rows.forEach(({ record }, i) => {
    const segments = segmentsOf(record, end);
    if (segments.some((s) => s.kind === "sleeping")) anySleeping = true;
    const ran = sum(segments.filter((s) => s.kind === "running"));
    const foldedCount = segments.reduce((n, s) => n + (s.folded ?? 0), 0);
    if (foldedCount > 0) anyFolded = true;
    // The running time inside a folded stretch is not known: "ran" counts the rest.
    const folded = foldedCount > 0 ? `, ${foldedCount} transitions folded` : "";
    if (record.id !== run.root.id) {
      taskTime += ran;
      tasks += 1;
    }
    const elapsed = (record.finishedAt ?? end) - record.createdAt;
    const attempts = record.attempt > 1 ? ` in ${record.attempt} attempts` : "";
    const state = terminal.has(record.state) ? record.state : `${record.state}…`;
    lines.push(
      `${(labels[i] ?? "").padEnd(labelWidth)} │${bar(segments, start, span, width)}│ ` +
        `${state.padEnd(10)} ${formatMs(elapsed).padStart(7)}, ran ${formatMs(ran)}${attempts}${folded}${reusedNote(record)}`,
    );
  });

  const wall = end - start;
  if (tasks === 0) taskTime = sum(segmentsOf(run.root, end).filter((s) => s.kind === "running"));
  const counted = tasks === 0 ? "the root alone" : `${tasks} task${tasks === 1 ? "" : "s"}, root excluded`;
  const ratio = wall > 0 ? `: ${(taskTime / wall).toFixed(2)}× the wall time` : "";
  const [wallText, taskText] = [formatMs(wall), formatMs(taskTime)].map((t, _, all) => t.padStart(Math.max(...all.map((a) => a.length))));
  lines.push(
    `wall time ${wallText}   first creation to ${rows.every(({ record }) => terminal.has(record.state)) ? "last finish" : "now"}`,
    `task time ${taskText}   running time summed over ${counted}${ratio}`,
    `${Glyph.Running} running   ${Glyph.Waiting} waiting, queued or suspended${anySleeping ? `   ${Glyph.Sleeping} sleeping` : ""}` +
      `${anyFolded ? `   ${Glyph.Folded} re-runs folded into a count` : ""}`,
  );
  return lines.join("\n");
}

/** Where a reused execution's result came from: the cached source, or the later debounced call it became. */
function reusedNote(record: ExecutionRecord): string {
  if (record.cachedFrom !== undefined) return `, cached from ${record.cachedFrom}`;
  if (record.debounced === true && record.forward !== undefined) return `, debounced into ${record.forward}`;
  return "";
}

/** Executions depth first: each parent before its children, siblings in creation order. */
function ordered(run: RunView): { record: ExecutionRecord; depth: number }[] {
  const ids = new Set(run.executions.map((e) => e.id));
  const byCreation = creationOrder(run.executions, run.edges);
  const children = new Map<string | undefined, ExecutionRecord[]>();
  for (const record of byCreation) {
    const parent = record.parentId !== undefined && ids.has(record.parentId) ? record.parentId : undefined;
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [record]);
    else list.push(record);
  }
  const out: { record: ExecutionRecord; depth: number }[] = [];
  const seen = new Set<string>();
  const visit = (record: ExecutionRecord, depth: number): void => {
    if (seen.has(record.id)) return;
    seen.add(record.id);
    out.push({ record, depth });
    for (const child of children.get(record.id) ?? []) visit(child, depth + 1);
  };
  for (const top of children.get(undefined) ?? []) visit(top, 0);
  // Whatever a parent cycle left out still gets a row.
  for (const record of byCreation) visit(record, 0);
  return out;
}

/**
 * Executions by `createdAt`; within the same millisecond an execution comes after those its
 * arguments reference (it cannot have been created before them), then in the given order.
 */
function creationOrder(executions: readonly ExecutionRecord[], edges: RunView["edges"]): ExecutionRecord[] {
  const upstreams = new Map<string, string[]>();
  for (const edge of edges) {
    if (edge.kind !== "argument") continue;
    upstreams.set(edge.downstreamId, [...(upstreams.get(edge.downstreamId) ?? []), edge.upstreamId]);
  }
  const left = [...executions].sort((a, b) => a.createdAt - b.createdAt);
  const ids = new Set(left.map((e) => e.id));
  const placed = new Set<string>();
  const out: ExecutionRecord[] = [];
  while (left.length > 0) {
    const first = left[0];
    if (first === undefined) break;
    // The earliest execution whose referenced executions are all placed; any, if refs form a cycle.
    const ready = left.findIndex((e) => e.createdAt === first.createdAt && (upstreams.get(e.id) ?? []).every((r) => !ids.has(r) || placed.has(r)));
    const [next] = left.splice(Math.max(ready, 0), 1);
    if (next === undefined) break;
    placed.add(next.id);
    out.push(next);
  }
  return out;
}

/** The execution's time, from its history: each transition starts a segment that ends at the next. */
function segmentsOf(record: ExecutionRecord, end: number): Segment[] {
  const history = [...record.history].sort((a, b) => a.at - b.at);
  const segments: Segment[] = [];
  history.forEach((transition, i) => {
    if (terminal.has(transition.state)) return;
    const to = history[i + 1]?.at ?? record.finishedAt ?? end;
    if (transition.folded !== undefined) segments.push({ kind: "folded", from: transition.at, to, folded: transition.folded });
    else {
      const kind = transition.state === State.Running ? "running" : transition.state === State.Sleeping ? "sleeping" : "waiting";
      segments.push({ kind, from: transition.at, to });
    }
  });
  return segments;
}

/** One character per slice of the span: the kind that fills most of it; every attempt shows. */
function bar(segments: readonly Segment[], start: number, span: number, width: number): string {
  const cell = span / width;
  const cells: string[] = [];
  for (let c = 0; c < width; c++) {
    const from = start + c * cell;
    const to = from + cell;
    let running = 0;
    let waiting = 0;
    let folded = 0;
    let sleeping = 0;
    for (const s of segments) {
      const overlap = Math.min(to, s.to) - Math.max(from, s.from);
      if (overlap <= 0) continue;
      if (s.kind === "running") running += overlap;
      else if (s.kind === "folded") folded += overlap;
      else if (s.kind === "sleeping") sleeping += overlap;
      else waiting += overlap;
    }
    const most = Math.max(running, waiting, folded, sleeping);
    cells.push(
      most === 0 ? Glyph.Absent : running === most ? Glyph.Running : folded === most ? Glyph.Folded : sleeping === most ? Glyph.Sleeping : Glyph.Waiting,
    );
  }
  // A running segment shorter than a cell still gets one, where it starts.
  for (const s of segments) {
    if (s.kind !== "running") continue;
    const first = Math.min(width - 1, Math.floor((s.from - start) / cell));
    const last = Math.min(width - 1, Math.max(first, Math.ceil((s.to - start) / cell) - 1));
    if (!cells.slice(first, last + 1).includes(Glyph.Running)) cells[first] = Glyph.Running;
  }
  return cells.join("");
}

function sum(segments: readonly Segment[]): number {
  return segments.reduce((total, s) => total + (s.to - s.from), 0);
}

/** `load_user("u1")`: the task name, with its arguments when they are short plain values. */
function defaultLabel(record: ExecutionRecord): string {
  return `${record.taskName}(${argumentsPreview(record)})`;
}

function argumentsPreview(record: ExecutionRecord): string {
  if (!("inline" in record.args)) return "…";
  try {
    const args = decodeValue(record.args.inline);
    if (!Array.isArray(args)) return "…";
    const parts = args.map((a: unknown) =>
      typeof a === "string" ? JSON.stringify(a) : typeof a === "number" || typeof a === "boolean" || a === null ? String(a) : undefined,
    );
    return parts.every((p) => p !== undefined) ? parts.join(", ") : "…";
  } catch {
    return "…";
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `850 ms`, `1.25 s`. */
function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
