/**
 * Watching attempts from outside the engine: metrics (`sdk/aws/emf-metrics.ts`) and traces
 * (`attempt-tracer.ts`) are told when each attempt starts and how it ended, and a tracer
 * runs the attempt's code inside its span. Nothing is watched unless a runtime is given
 * watchers, so the embedded engine pays nothing by default.
 */
import type { ExecutionRecord } from "../engine/model.ts";
import { State } from "../engine/model.ts";

/** How an attempt ended, as its watchers see it. */
export const AttemptEnding = {
  Completed: "completed",
  /** Failed, with no attempt left: the execution failed. */
  Failed: "failed",
  /** Failed, and another attempt follows. */
  Retried: "retried",
  Suspended: "suspended",
  Sleeping: "sleeping",
  Cancelled: "cancelled",
  /** Its outcome could not be recorded (a store error, or a newer attempt took over): its message comes back. */
  Unrecorded: "unrecorded",
} as const;
export type AttemptEnding = (typeof AttemptEnding)[keyof typeof AttemptEnding];

/** The end of one attempt. */
export interface AttemptEnd {
  readonly ending: AttemptEnding;
  /** When it ended, epoch milliseconds (the runtime's clock). */
  readonly at: number;
  /** The error of a failed, retried or unrecorded attempt. */
  readonly error?: unknown;
}

/** One watcher's view of one attempt. */
export interface AttemptWatch {
  /** Runs the attempt's code (a tracer makes its span the active one in there). */
  run?<T>(fn: () => T): T;
  /** The W3C `traceparent` of the attempt's span: what the children it submits continue. */
  readonly traceparent?: string | undefined;
  /** Told once, when the attempt's outcome is recorded (or could not be). */
  end(end: AttemptEnd): void;
}

/** Told of every attempt a runtime runs. */
export interface AttemptWatcher {
  /**
   * An attempt of `record` (as claimed, or an inline one as created) starts at `at`, epoch
   * milliseconds, before its code runs.
   */
  start(record: ExecutionRecord, at: number): AttemptWatch;
  /** Writes out whatever it holds (metrics: once per Lambda invocation). */
  flush?(): void;
}

/**
 * How long a claimed attempt waited for a worker: from when it became due (queued, or its
 * retry delay, delayed start or sleep over) to its start. `undefined` for an attempt that was
 * not delivered by a queue (an inline one, or a take-over of a running one).
 *
 * @param record - the record as its claim wrote it: its last transition is the start
 * @param at - when the attempt started
 */
export function queueWaitMs(record: ExecutionRecord, at: number): number | undefined {
  const [before, started] = record.history.slice(-2);
  if (started?.state !== State.Running || (before?.state !== State.Queued && before?.state !== State.Sleeping)) return undefined;
  return Math.max(0, at - Math.max(before.at, record.notBefore ?? 0));
}
