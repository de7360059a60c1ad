/**
 * Flow control: the admission gate of concurrency and rate limits, over the
 * {@link LimitStore} port. Every message that would start a queued execution of a limited
 * task passes here first (see `ExecutionEngine.#send`), so no path bypasses a limit, and
 * one over the limit is held with no message sent (a concurrency limit) or its message
 * delayed to the first free moment (a rate limit). See ARCHITECTURE.md, "Flow control".
 */
import type { LimitStore, LimitWaiter } from "./ports.ts";
import { call, type Step } from "./step.ts";
import type { ExecutionRecord, Hold } from "./model.ts";

/** What the gate decided for one queueing of an execution. */
export type Admission =
  /**
   * Send its message, due at `at` (later than it was due when a rate limit delays it).
   * `noted`: its note among the held, forgotten once the message is sent, so a queued
   * execution with no message on the way is always noted somewhere a release looks.
   */
  | { readonly type: "go"; readonly at: number; readonly noted?: { readonly key: string; readonly waiter: LimitWaiter } | undefined }
  /** Held by a concurrency limit: no message until a slot frees. */
  | { readonly type: "held"; readonly hold: Hold; readonly holders: number };

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
 * The gate's decisions over a {@link LimitStore}. Concurrency: a slot is held from the
 * admission of a queueing until the execution finishes, suspends or sleeps (a retry and a
 * take-over keep it); acquiring is idempotent per execution, so a resend, a duplicate
 * delivery or a repeated release never counts twice. Held executions are noted before the
 * second look at the slots, and a release vacates before it reads the noted ones, so one
 * of the two always sees the other: none is stranded.
 */
export class LimitGate {
  readonly #store: LimitStore;

  /** @param store - where the counters live */
  constructor(store: LimitStore) {
    this.#store = store;
  }

  /**
   * Admits one queueing of `record` (every limit of its task), or holds it.
   * @param now - the time, epoch milliseconds
   * @param waiter - the note of it as held, when it was found among them (its record may not say so)
   */
  *admit(record: ExecutionRecord, now: number, waiter?: LimitWaiter): Step<Admission> {
    const concurrency = record.limits?.concurrency;
    let noted: { key: string; waiter: LimitWaiter } | undefined;
    if (concurrency !== undefined) {
      const key = limitKey("concurrency", record.taskName, concurrency.key);
      const slot = yield* this.#acquire(record, key, concurrency.limit, now, waiter);
      if (slot.type === "held") return slot;
      if (slot.noted !== undefined) noted = { key, waiter: slot.noted };
    }
    const due = Math.max(now, record.notBefore ?? now);
    const rate = record.limits?.rate;
    if (rate === undefined) return { type: "go", at: due, noted };
    // Reserved before for this attempt (a resend of a delayed start): the same start.
    const reserved = record.held?.by === "rate" && record.held.attempt === record.attempt ? record.held.until : undefined;
    const at = reserved ?? (yield* this.#reserve(limitKey("rate", record.taskName, rate.key), rate.limit, rate.periodMs, now, due));
    return { type: "go", at, noted };
  }

  /** Takes a slot, or notes the execution as held; answers the hold, or the note to forget once its message is sent. */
  *#acquire(record: ExecutionRecord, key: string, limit: number, now: number, waiter: LimitWaiter | undefined): Step<Extract<Admission, { type: "held" }> | { readonly type: "slot"; readonly noted: LimitWaiter | undefined }> {
    const noted = waiter ?? { id: record.id, since: record.held?.since ?? record.queuedAt ?? now };
    const first = yield* call(this.#store.acquire(key, record.id, limit));
    const wasHeld = waiter !== undefined || record.held?.by === "concurrency";
    if (first.admitted) return { type: "slot", noted: wasHeld ? noted : undefined };
    // Noted first, then the slots read again: a release between the two reads is seen by
    // the second, and one after it finds the note.
    yield* call(this.#store.hold(key, noted));
    const second = yield* call(this.#store.acquire(key, record.id, limit));
    if (second.admitted) return { type: "slot", noted };
    return { type: "held", hold: { by: "concurrency", since: noted.since, limit }, holders: second.holders };
  }

  /**
   * Counts a start in the window `due` falls in, or the first later one with room: one
   * atomic add a window tried, never a conditional write that others make fail. Answers
   * when it may start.
   */
  *#reserve(key: string, limit: number, periodMs: number, now: number, due: number): Step<number> {
    let window = Math.floor(due / periodMs);
    for (let hops = 0; hops < RATE_HOPS; hops += 1) {
      const count = yield* call(this.#store.countStart(key, window, periodMs, now));
      if (count <= limit) return Math.max(due, window * periodMs);
      window = nextWindow(window, count, limit);
    }
    throw new Error(`the rate limit ${key} found no window with room in ${RATE_HOPS} tries; the message is tried again`);
  }

  /** Frees the slot `record` holds under its concurrency limit; answers the oldest held executions to try next. */
  *vacate(record: ExecutionRecord): Step<{ readonly key: string; readonly waiters: LimitWaiter[] } | undefined> {
    const concurrency = record.limits?.concurrency;
    if (concurrency === undefined) return undefined;
    const key = limitKey("concurrency", record.taskName, concurrency.key);
    yield* call(this.#store.vacate(key, record.id));
    return { key, waiters: yield* call(this.#store.waiters(key, WAITERS_READ)) };
  }

  /** The next held executions of a concurrency limit, oldest first. */
  waiters(key: string): Step<LimitWaiter[]> {
    return call(this.#store.waiters(key, WAITERS_READ));
  }

  /** Forgets a note of a held execution that no longer waits (it finished, or was admitted elsewhere). */
  forget(key: string, waiter: LimitWaiter): Step<void> {
    return call(this.#store.unhold(key, waiter));
  }
}
