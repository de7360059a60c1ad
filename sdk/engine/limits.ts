/**
 * Flow control: the admission gate of concurrency and rate limits, over the
 * {@link LimitStore} port. Every message that would start a queued execution of a limited
 * task passes here first (see `ExecutionEngine.#send`), so no path bypasses a limit, and
 * one over the limit is held with no message sent (a concurrency limit) or its message
 * delayed to the first free moment (a rate limit). See ARCHITECTURE.md, "Flow control".
 */
import type { LimitStore, LimitWaiter, StartLog } from "./ports.ts";
import { call, type Step } from "./step.ts";
import type { ExecutionRecord, Hold } from "./model.ts";

/** A task's limits, as the engine is told of them (`TaskPolicy.limits`). */
export interface TaskLimits {
  readonly concurrency?: { readonly limit: number };
  readonly rateLimit?: { readonly limit: number; readonly periodMs: number };
}

/** What the gate decided for one queueing of an execution. */
export type Admission =
  /** Send its message, due at `at` (later than it was due when a rate limit delays it). */
  | { readonly type: "go"; readonly at: number }
  /** Held by a concurrency limit: no message until a slot frees. */
  | { readonly type: "held"; readonly hold: Hold; readonly holders: number };

/** How many times a rate limit's log is read and written again when another writer got there first. */
export const RATE_WRITE_TRIES = 8;

/** How many held executions a freed slot reads at once, oldest first. */
export const WAITERS_READ = 8;

/** The storage key of a limit of a task for one key value. */
export function limitKey(kind: "concurrency" | "rate", taskName: string, key: string): string {
  return `${kind === "concurrency" ? "C" : "R"}|${taskName}|${key}`;
}

/**
 * The earliest start at or after `due` that keeps every window of `periodMs` (a sliding
 * window over admitted starts, in whole milliseconds: `[w, w + periodMs)`) at `limit`
 * starts or fewer, given the starts admitted already (`starts`, any order).
 *
 * A window holding the new start `t` begins in `(t - periodMs, t]`; its count only grows
 * where its end reaches a later start, so checking the first such window and those ending
 * at each start after `t` checks them all. The candidates are `due` and each start plus
 * `periodMs` after it: the latest of those always fits.
 */
export function nextStart(starts: readonly number[], limit: number, periodMs: number, due: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  const candidates = [due, ...sorted.map((s) => s + periodMs).filter((t) => t > due)];
  for (const t of candidates) {
    if (fits(sorted, limit, periodMs, t)) return t;
  }
  // Unreachable: the last candidate is after every start's window.
  return (sorted.at(-1) ?? due) + periodMs;
}

function fits(sorted: readonly number[], limit: number, periodMs: number, t: number): boolean {
  const windows = [t - periodMs + 1, ...sorted.filter((s) => s > t && s < t + periodMs).map((s) => s - periodMs + 1)];
  return windows.every((w) => sorted.filter((s) => s >= w && s < w + periodMs).length < limit);
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
  *admit(record: ExecutionRecord, limits: TaskLimits, now: number, waiter?: LimitWaiter): Step<Admission> {
    const concurrency = limits.concurrency;
    const ck = record.limits?.concurrency;
    if (concurrency !== undefined && ck !== undefined) {
      const held = yield* this.#acquire(record, limitKey("concurrency", record.taskName, ck), concurrency.limit, now, waiter);
      if (held !== undefined) return held;
    }
    const due = Math.max(now, record.notBefore ?? now);
    const rate = limits.rateLimit;
    const rk = record.limits?.rate;
    if (rate === undefined || rk === undefined) return { type: "go", at: due };
    const at = yield* this.#reserve(limitKey("rate", record.taskName, rk), `${record.id}#${record.attempt}`, rate.limit, rate.periodMs, now, due);
    return { type: "go", at };
  }

  /** Takes a slot, or notes the execution as held; answers the hold, or `undefined` once it holds a slot. */
  *#acquire(record: ExecutionRecord, key: string, limit: number, now: number, waiter: LimitWaiter | undefined): Step<Admission | undefined> {
    const noted = waiter ?? { id: record.id, since: record.held?.since ?? record.queuedAt ?? now };
    const first = yield* call(this.#store.acquire(key, record.id, limit));
    const wasHeld = waiter !== undefined || record.held?.by === "concurrency";
    if (first.admitted) {
      if (wasHeld) yield* call(this.#store.unhold(key, noted));
      return undefined;
    }
    // Noted first, then the slots read again: a release between the two reads is seen by
    // the second, and one after it finds the note.
    yield* call(this.#store.hold(key, noted));
    const second = yield* call(this.#store.acquire(key, record.id, limit));
    if (second.admitted) {
      yield* call(this.#store.unhold(key, noted));
      return undefined;
    }
    return { type: "held", hold: { by: "concurrency", since: noted.since, limit }, holders: second.holders };
  }

  /** Reserves the first free start at or after `due` in a rate limit's log (or the one `token` reserved before). */
  *#reserve(key: string, token: string, limit: number, periodMs: number, now: number, due: number): Step<number> {
    for (let tries = 0; tries < RATE_WRITE_TRIES; tries += 1) {
      const log: StartLog = yield* call(this.#store.starts(key));
      const mine = log.starts.find(([t]) => t === token);
      if (mine !== undefined) return mine[1];
      // Starts a whole period old can be in no window with a start from now on.
      const kept = log.starts.filter(([, at]) => at > now - periodMs);
      const at = nextStart(kept.map(([, s]) => s), limit, periodMs, due);
      const written = yield* call(this.#store.writeStarts(key, { version: log.version + 1, starts: [...kept, [token, at]] }));
      if (written) return at;
    }
    throw new Error(`the rate limit ${key} was written by others ${RATE_WRITE_TRIES} times in a row; the message is tried again`);
  }

  /** Frees the slot `record` holds under its concurrency limit; answers the oldest held executions to try next. */
  *vacate(record: ExecutionRecord): Step<{ readonly key: string; readonly waiters: LimitWaiter[] } | undefined> {
    const ck = record.limits?.concurrency;
    if (ck === undefined) return undefined;
    const key = limitKey("concurrency", record.taskName, ck);
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
