/** In-process waits for executions to finish, woken by the terminal transitions this process writes. */
import { WaitMode, isTerminal, type ExecutionRecord } from "../engine/model.ts";
import type { Clock, ExecutionStore } from "../engine/ports.ts";
import { isPromiseLike } from "../engine/step.ts";

/** One wait: for all of `ids`, or any one of them. Its callbacks are cleared once it settles. */
class Waiter {
  readonly ids: readonly string[];
  remaining: number;
  resolve: ((finished: boolean) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  cancelTimer: (() => void) | undefined = undefined;

  constructor(ids: readonly string[], remaining: number, resolve: (finished: boolean) => void, reject: (error: unknown) => void) {
    this.ids = ids;
    this.remaining = remaining;
    this.resolve = resolve;
    this.reject = reject;
  }

  settle(finished: boolean): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    this.reject = undefined;
    this.cancelTimer?.();
    resolve?.(finished);
  }

  fail(error: unknown): void {
    const reject = this.reject;
    this.resolve = undefined;
    this.reject = undefined;
    this.cancelTimer?.();
    reject?.(error);
  }

  get settled(): boolean {
    return this.resolve === undefined;
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

  /** Resolves `true` once the executions finish (all, or any one), or `false` after `timeoutMs`. */
  until(ids: readonly string[], mode: WaitMode, timeoutMs?: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const waiter = new Waiter(ids, mode === WaitMode.All ? ids.length : 1, resolve, reject);
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
    });
  }

  /** Wakes whoever waits for `record`, which has just reached a terminal state. */
  finished(record: ExecutionRecord): void {
    const waiting = this.#byId.get(record.id);
    if (waiting === undefined) return;
    this.#byId.delete(record.id);
    if (Array.isArray(waiting)) for (const waiter of waiting) this.#count(waiter);
    else this.#count(waiting);
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
