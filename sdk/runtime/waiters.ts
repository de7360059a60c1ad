/** In-process waits for executions to finish, woken by the terminal transitions this process writes. */
import { WaitMode, isTerminal, type ExecutionRecord } from "../engine/model.ts";
import type { Clock, ExecutionStore } from "../engine/ports.ts";
import { isPromiseLike } from "../engine/step.ts";

/** How a wait ended: `true` once the executions finished, `false` after its time limit, or with an error. */
export type WaitCallback = (finished: boolean, error?: unknown) => void;

/** One wait: for all of `ids`, or any one of them. Its callback is cleared once it is called. */
class Waiter {
  readonly ids: readonly string[];
  remaining: number;
  #callback: WaitCallback | undefined;
  cancelTimer: (() => void) | undefined = undefined;

  constructor(ids: readonly string[], remaining: number, callback: WaitCallback) {
    this.ids = ids;
    this.remaining = remaining;
    this.#callback = callback;
  }

  settle(finished: boolean, error?: unknown): void {
    const callback = this.#callback;
    this.#callback = undefined;
    this.cancelTimer?.();
    callback?.(finished, error);
  }

  fail(error: unknown): void {
    this.settle(false, error ?? new Error("the wait failed without a reason"));
  }

  get settled(): boolean {
    return this.#callback === undefined;
  }
}

/**
 * Who waits for which execution. Most waits are one `result()` on one execution, and most
 * executions have one waiter: an execution's waiters are kept as the waiter itself until a
 * second one comes.
 */
export class Waiters {
  readonly #byId = new Map<string, Waiter | Waiter[]>();
  readonly #store: ExecutionStore;
  readonly #clock: Clock;

  /**
   * @param store - read once a waiter is registered, to catch a finish that came first
   * @param clock - for waits with a time limit
   */
  constructor(store: ExecutionStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /**
   * Calls `callback(true)` once the executions finish (all, or any one), `callback(false)`
   * after `timeoutMs`, or `callback(false, error)` if the wait fails. A callback rather than
   * a promise: a chain's every step waits here, and a promise per wait costs a hook call per
   * promise under AsyncLocalStorage.
   */
  wait(ids: readonly string[], mode: WaitMode, timeoutMs: number | undefined, callback: WaitCallback): void {
    const waiter = new Waiter(ids, mode === WaitMode.All ? ids.length : 1, callback);
    for (const id of ids) this.#add(id, waiter);
    if (timeoutMs !== undefined) {
      waiter.cancelTimer = this.#clock.schedule(timeoutMs, () => {
        this.#forget(waiter);
        waiter.settle(false);
      });
    }
    // Registered first, then read: a finish between the two is seen by one of them.
    for (const id of ids) {
      const record = this.#store.get(id);
      if (isPromiseLike(record)) {
        record.then(
          (found) => this.#check(found, waiter),
          (error: unknown) => {
            this.#forget(waiter);
            waiter.fail(error);
          },
        );
      } else {
        this.#check(record, waiter);
      }
      if (waiter.settled) return;
    }
  }

  /** Wakes whoever waits for `record`, which has just reached a terminal state. */
  finished(record: ExecutionRecord): void {
    const waiting = this.#byId.get(record.id);
    if (waiting === undefined) return;
    this.#byId.delete(record.id);
    if (!Array.isArray(waiting)) {
      this.#count(waiting);
      return;
    }
    // Every waiter is told, even if telling one throws: the entry is gone already.
    let failure: { readonly error: unknown } | undefined;
    for (const waiter of waiting) {
      try {
        this.#count(waiter);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Whether a wait is for `id` now. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** The executions waited for now. */
  ids(): string[] {
    return [...this.#byId.keys()];
  }

  /** Fails every wait in progress with `error`. */
  failAll(error: unknown): void {
    const waiters = new Set([...this.#byId.values()].flat());
    this.#byId.clear();
    for (const waiter of waiters) waiter.fail(error);
  }

  #check(record: ExecutionRecord | undefined, waiter: Waiter): void {
    if (record === undefined || !isTerminal(record.state) || !this.#remove(record.id, waiter)) return;
    this.#count(waiter);
  }

  /** Counts one finished execution of `waiter`, already removed from that execution's waiters. */
  #count(waiter: Waiter): void {
    if (waiter.settled) return;
    waiter.remaining -= 1;
    if (waiter.remaining > 0) return;
    if (waiter.ids.length > 1) this.#forget(waiter);
    waiter.settle(true);
  }

  #add(id: string, waiter: Waiter): void {
    const waiting = this.#byId.get(id);
    if (waiting === undefined) this.#byId.set(id, waiter);
    else if (Array.isArray(waiting)) waiting.push(waiter);
    else this.#byId.set(id, [waiting, waiter]);
  }

  /** Removes `waiter` from the waiters of `id`; false if it was not there. */
  #remove(id: string, waiter: Waiter): boolean {
    const waiting = this.#byId.get(id);
    if (waiting === waiter) {
      this.#byId.delete(id);
      return true;
    }
    if (!Array.isArray(waiting)) return false;
    const index = waiting.indexOf(waiter);
    if (index < 0) return false;
    waiting.splice(index, 1);
    if (waiting.length === 0) this.#byId.delete(id);
    return true;
  }

  #forget(waiter: Waiter): void {
    for (const id of waiter.ids) this.#remove(id, waiter);
  }
}
