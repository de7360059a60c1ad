/**
 * Flow control: the admission gate of concurrency and rate limits, over the
 * {@link LimitStore} port. Every message that would start a queued execution of a limited
 * task passes here first (see `ExecutionEngine.#send`), so no path bypasses a limit, and
 * one over the limit is held with no message sent (a concurrency limit) or its message
 * delayed to the first free moment (a rate limit). See ARCHITECTURE.md, "Flow control".
 */
import type { LimitStore, LimitWaiter, Slot, Slots } from "./ports.ts";
import { call, type Step } from "./step.ts";
import type { ExecutionRecord } from "./model.ts";

/** How many later windows a rate-limited start tries before its message is tried again. */
export const RATE_HOPS = 16;

/** How many held executions a freed slot reads at once, oldest first. */
export const WAITERS_READ = 8;

/** The storage key of a limit of a task for one key value. */
export function limitKey(kind: "concurrency" | "rate", taskName: string, key: string): string {
  return `${kind === "concurrency" ? "C" : "R"}|${taskName}|${key}`;
}

/**
 * The window a start over the limit tries next: the `count - limit`-th start over the
 * limit of `window` waits behind as many others, `limit` a window.
 */
export function nextWindow(window: number, count: number, limit: number): number {
  return window + Math.ceil((count - limit) / limit);
}

/**
 * The gate's steps over a {@link LimitStore}; the engine orders them (see
 * `ExecutionEngine.#gated` and `#admitHeld`, and ARCHITECTURE.md, "Flow control").
 * Concurrency: a slot is held by an execution from its admission until it finishes,
 * suspends or sleeps (a retry and a take-over keep it); acquiring is idempotent per
 * execution, so a resend, a duplicate delivery or a repeated release never counts twice.
 */
export class LimitGate {
  readonly #store: LimitStore;

  /** @param store - where the counters live */
  constructor(store: LimitStore) {
    this.#store = store;
  }

  /** The storage key of `record`'s concurrency limit (it has one). */
  concurrencyKey(record: ExecutionRecord): string {
    return limitKey("concurrency", record.taskName, record.limits?.concurrency?.key ?? "");
  }

  /** Takes a slot of `record`'s concurrency limit for it, if one is free or it holds one. */
  acquire(record: ExecutionRecord): Step<Slot> {
    return call(this.#store.acquire(this.concurrencyKey(record), record.id, record.limits?.concurrency?.limit ?? 1));
  }

  /** Which of `ids` hold a slot of the concurrency limit `key`, and how many do. */
  slots(key: string, ids: readonly string[]): Step<Slots> {
    return call(this.#store.slots(key, ids));
  }

  /** Frees the slot `record` holds (nothing when it holds none). */
  vacate(record: ExecutionRecord): Step<void> {
    return call(this.#store.vacate(this.concurrencyKey(record), record.id));
  }

  /** Notes a held execution where a freed slot looks (a repeat changes nothing). */
  note(key: string, waiter: LimitWaiter): Step<void> {
    return call(this.#store.hold(key, waiter));
  }

  /** The next held executions of a concurrency limit, oldest first (after `after`). */
  waiters(key: string, after?: LimitWaiter): Step<LimitWaiter[]> {
    return call(this.#store.waiters(key, WAITERS_READ, after));
  }

  /** Forgets a note of a held execution that no longer waits (it was admitted, or finished). */
  forget(key: string, waiter: LimitWaiter): Step<void> {
    return call(this.#store.unhold(key, waiter));
  }

  /**
   * When `record`'s attempt may start under its rate limit (it has one), due at `due`: the
   * start reserved before for this attempt (a resend of a delayed start), or one counted
   * now in the window `due` falls in, or the first later one with room.
   */
  *reserve(record: ExecutionRecord, now: number, due: number): Step<number> {
    const rate = record.limits?.rate;
    if (rate === undefined) return due;
    const reserved = record.held?.by === "rate" && record.held.attempt === record.attempt ? record.held.until : undefined;
    if (reserved !== undefined) return reserved;
    const key = limitKey("rate", record.taskName, rate.key);
    let window = Math.floor(due / rate.periodMs);
    for (let hops = 0; hops < RATE_HOPS; hops += 1) {
      const count = yield* call(this.#store.countStart(key, window, rate.periodMs, now));
      if (count <= rate.limit) return Math.max(due, window * rate.periodMs);
      window = nextWindow(window, count, rate.limit);
    }
    throw new Error(`the rate limit ${key} found no window with room in ${RATE_HOPS} tries; the message is tried again`);
  }
}
