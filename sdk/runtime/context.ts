/** The context of the execution whose code is running, carried across awaits. */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Outcome } from "../engine/execution-engine.ts";
import { WaitMode, type ExecutionRecord } from "../engine/model.ts";

/** A request, made by code that cannot go on, to suspend until executions finish. */
export interface SuspendRequest {
  readonly on: Set<string>;
  mode: WaitMode;
}

/** A concurrency slot lent to one attempt. */
export interface SlotLease {
  /** Whether the attempt holds the slot now (it gives it up while it waits). */
  held: boolean;
  /** False once the attempt is over: a late wake-up must not take a slot again. */
  active: boolean;
}

/**
 * What floe knows of a running attempt. The first of completion, failure, suspension or
 * abort settles it; whatever the code does afterwards is ignored. It is also the attempt's
 * lease on a concurrency slot, and the runtime extends it with how the outcome is
 * recorded: one object per attempt, since this is on every task's hot path. Parts most
 * attempts never use (the abort signal) are made on first use.
 */
export abstract class ExecutionContext implements SlotLease {
  /** The engine running this attempt (a `Runtime`). */
  readonly runtime: unknown;
  readonly record: ExecutionRecord;
  /** Whether the engine limits concurrency, so that this attempt holds a slot. */
  readonly #limited: boolean;
  held: boolean;
  active = true;
  /** The submissions' writes still in flight, flushed before the attempt ends. */
  writes: readonly Promise<unknown>[] = noWrites;
  /** The calls (by the digest of their task and arguments) made so far in this attempt. */
  #calls: Set<string> | undefined;
  /** How many times each call made more than once was made so far in this attempt. */
  #repeats: Map<string, number> | undefined;
  /** In a re-run, the children's registrations in flight, by id. */
  #registering: Map<string, Promise<unknown>> | undefined;
  /**
   * The children an earlier run of this execution created, by id, read in one request when
   * a re-run starts: a re-run's calls find them here instead of creating them again (a
   * conditional put each) and reading their results one by one.
   */
  known: ReadonlyMap<string, ExecutionRecord> | undefined = undefined;
  /** Whether every child in {@link known} was fully registered (its writes flushed): then a call finding it is done. */
  knownFlushed = false;
  /** Set once the code asked to suspend. */
  suspend: SuspendRequest | undefined = undefined;
  /** How many `sleep` calls the code made so far in this run. */
  sleeps = 0;
  /** The W3C `traceparent` of the attempt's span, when traces are on: the parent of the spans of the children it submits. */
  traceparent: string | undefined = undefined;
  /** Set once the attempt timed out, was cancelled or its engine closed. */
  aborted = false;
  #settled = false;
  #controller: AbortController | undefined;
  #reason: unknown;

  /**
   * @param runtime - the engine running the attempt
   * @param record - the execution, as claimed
   * @param limited - whether the attempt took a concurrency slot
   */
  constructor(runtime: unknown, record: ExecutionRecord, limited: boolean) {
    this.runtime = runtime;
    this.record = record;
    this.#limited = limited;
    this.held = limited;
  }

  /** The attempt's concurrency slot, when the engine limits concurrency. */
  get slot(): SlotLease | undefined {
    return this.#limited ? this : undefined;
  }

  /** Told the attempt's outcome, once. */
  protected abstract settled(outcome: Outcome): void;

  /** Adds a submission's writes to those flushed before the attempt ends. */
  addWrite(write: Promise<unknown>): void {
    // Most attempts submit nothing, or only over the in-memory store, which writes at once.
    if (this.writes === noWrites) this.writes = [write];
    else (this.writes as Promise<unknown>[]).push(write);
  }

  /**
   * In a re-run, the registrations still in flight of the attempt's children among `ids`
   * (what a child submitted after them waits on), once they have landed; `undefined` when
   * none is in flight.
   */
  registrationsOf(ids: readonly string[]): Promise<unknown> | undefined {
    const pending = this.#registering === undefined ? [] : ids.flatMap((id) => this.#registering?.get(id) ?? []);
    return pending.length === 0 ? undefined : Promise.allSettled(pending);
  }

  /** Notes a child's registration in flight in a re-run, for {@link registrationsOf}. */
  registering(id: string, write: Promise<unknown>): void {
    (this.#registering ??= new Map()).set(id, write);
  }

  /**
   * Told of each child the attempt submits, before its registration; returns the check the
   * registration makes once the child's record exists (`NewExecution.admit`), if any.
   */
  childSubmitted(_id: string): (() => Promise<unknown>) | undefined {
    return undefined;
  }

  /** Counts one more submission of `key` (the digest of a call); returns its occurrence, from 1. */
  occurrence(key: string): number {
    // Most calls are made once: one set operation tells a first call from a repeat.
    const calls = (this.#calls ??= new Set());
    const before = calls.size;
    calls.add(key);
    if (calls.size > before) return 1;
    const repeats = (this.#repeats ??= new Map());
    const n = (repeats.get(key) ?? 1) + 1;
    repeats.set(key, n);
    return n;
  }

  /** Aborted when the attempt times out or the execution is cancelled. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Ends the attempt as failed with `reason` and aborts its signal. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.settle({ type: "failed", error: reason });
  }

  /** Settles the attempt; only the first call counts, and none after a suspension request. */
  settle(outcome: Outcome): void {
    if (this.#settled || (this.suspend !== undefined && outcome.type !== "suspended" && outcome.type !== "sleeping")) return;
    this.#settled = true;
    this.settled(outcome);
  }

  /** Adds executions to wait for; the attempt ends as suspended once this turn is over. */
  requestSuspend(ids: readonly string[], mode: WaitMode): void {
    if (this.suspend !== undefined) {
      for (const id of ids) this.suspend.on.add(id);
      this.suspend.mode = WaitMode.Any;
      return;
    }
    const request: SuspendRequest = { on: new Set(ids), mode };
    this.suspend = request;
    // Let calls made in the same turn (Promise.all over several results) join the request.
    setImmediate(() => this.settle({ type: "suspended", on: [...request.on], mode: request.mode }));
  }

  /** Ends the attempt as sleeping until `until` (see `sleep`), once this turn is over. */
  requestSleep(until: number, wakes: readonly number[]): void {
    if (this.suspend !== undefined) return;
    this.suspend = { on: new Set(), mode: WaitMode.All };
    setImmediate(() => this.settle({ type: "sleeping", until, wakes }));
  }
}

const noWrites: readonly Promise<unknown>[] = [];
const storage = new AsyncLocalStorage<ExecutionContext>();

/** The running attempt's context, or `undefined` outside any task. */
export function currentContext(): ExecutionContext | undefined {
  return storage.getStore();
}

/** Calls `fn(...args)` inside `context`. */
export function runInContext<A extends unknown[], T>(context: ExecutionContext, fn: (...args: A) => T, args: A): T {
  return storage.run(context, fn, ...args);
}

/** What a task can learn about its own execution. */
export interface TaskContext {
  readonly executionId: string;
  readonly runId: string;
  readonly attempt: number;
  /**
   * The execution's id: the same on every attempt, re-run and take-over, so an external
   * side effect retried after a timeout (a charge) is made once.
   */
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
  return { executionId: id, runId, attempt, idempotencyKey: id, signal: context.signal };
}
