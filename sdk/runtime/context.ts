/** The context of the execution whose code is running, carried across awaits. */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ExecutionRecord, WaitMode } from "../engine/model.ts";

/** A request, made by code that cannot go on, to suspend until executions finish. */
export interface SuspendRequest {
  readonly on: Set<string>;
  mode: WaitMode;
}

/** What floe knows of a running attempt. */
export interface ExecutionContext {
  /** The engine running this attempt (a `Runtime`). */
  readonly runtime: unknown;
  readonly record: ExecutionRecord;
  /** How many times each (task, arguments) pair was submitted so far in this run. */
  readonly occurrences: Map<string, number>;
  /** The submissions' writes, flushed before the attempt ends. */
  readonly writes: Promise<unknown>[];
  /** Aborted when the attempt times out or the execution is cancelled. */
  readonly controller: AbortController;
  /** Set once the code asked to suspend; whatever it does afterwards is ignored. */
  suspend: SuspendRequest | undefined;
  /** Resolves the attempt as suspended. */
  readonly onSuspend: () => void;
  /** The attempt's concurrency slot, when the engine limits concurrency. */
  readonly slot: SlotLease | undefined;
}

/** A concurrency slot lent to one attempt. */
export interface SlotLease {
  /** Whether the attempt holds the slot now (it gives it up while it waits). */
  held: boolean;
  /** False once the attempt is over: a late wake-up must not take a slot again. */
  active: boolean;
}

const storage = new AsyncLocalStorage<ExecutionContext>();

/** The running attempt's context, or `undefined` outside any task. */
export function currentContext(): ExecutionContext | undefined {
  return storage.getStore();
}

/** Runs `fn` inside `context`. */
export function runInContext<T>(context: ExecutionContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** What a task can learn about its own execution. */
export interface TaskContext {
  readonly executionId: string;
  readonly runId: string;
  readonly attempt: number;
  /** `executionId:attempt`: a stable key for external side effects of this attempt. */
  readonly idempotencyKey: string;
  /** Aborted when the attempt times out or the execution is cancelled. */
  readonly signal: AbortSignal;
}

/**
 * Information about the running execution, for idempotency keys and cancellation.
 *
 * @returns the context, or `undefined` outside a task
 * @example
 * const { idempotencyKey, signal } = taskContext()!;
 * await fetch(url, { signal, headers: { "Idempotency-Key": idempotencyKey } });
 */
export function taskContext(): TaskContext | undefined {
  const context = storage.getStore();
  if (context === undefined) return undefined;
  const { id, runId, attempt } = context.record;
  return { executionId: id, runId, attempt, idempotencyKey: `${id}:${attempt}`, signal: context.controller.signal };
}
