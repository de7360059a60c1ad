/** In-process waits for executions to finish, woken by the terminal transitions this process writes. */
import { WaitMode, isTerminal, type ExecutionRecord } from "../engine/model.ts";
import type { Clock, ExecutionStore } from "../engine/ports.ts";
import { isPromiseLike } from "../engine/step.ts";

interface Waiter {
  readonly ids: readonly string[];
  remaining: number;
  done: () => void;
  fail: (error: unknown) => void;
}

/** Who waits for which execution. */
export class Waiters {
  readonly #byId = new Map<string, Waiter[]>();
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
      let cancelTimer: (() => void) | undefined;
      const waiter: Waiter = {
        ids,
        remaining: mode === WaitMode.All ? ids.length : 1,
        done: () => {
          cancelTimer?.();
          resolve(true);
        },
        fail: reject,
      };
      for (const id of ids) {
        const list = this.#byId.get(id);
        if (list === undefined) this.#byId.set(id, [waiter]);
        else list.push(waiter);
      }
      if (timeoutMs !== undefined) {
        cancelTimer = this.#clock.schedule(timeoutMs, () => {
          this.#forget(waiter);
          resolve(false);
        });
      }
      // Registered first, then read: a finish between the two is seen by one of them.
      const check = (record: ExecutionRecord | undefined) => {
        if (record !== undefined && isTerminal(record.state)) this.#notify(record.id, waiter);
      };
      for (const id of ids) {
        const record = this.#store.get(id);
        if (isPromiseLike(record)) record.then(check, reject);
        else check(record);
      }
    });
  }

  /** Wakes whoever waits for `record`, which has just reached a terminal state. */
  finished(record: ExecutionRecord): void {
    const waiting = this.#byId.get(record.id);
    if (waiting !== undefined) for (const waiter of [...waiting]) this.#notify(record.id, waiter);
  }

  /** Fails every wait in progress with `error`. */
  failAll(error: unknown): void {
    const waiters = new Set([...this.#byId.values()].flat());
    this.#byId.clear();
    for (const waiter of waiters) waiter.fail(error);
  }

  #notify(id: string, waiter: Waiter): void {
    const list = this.#byId.get(id);
    const index = list?.indexOf(waiter) ?? -1;
    if (list === undefined || index < 0) return;
    list.splice(index, 1);
    if (list.length === 0) this.#byId.delete(id);
    waiter.remaining -= 1;
    if (waiter.remaining <= 0) {
      this.#forget(waiter);
      waiter.done();
    }
  }

  #forget(waiter: Waiter): void {
    for (const id of waiter.ids) {
      const list = this.#byId.get(id);
      const index = list?.indexOf(waiter) ?? -1;
      if (list !== undefined && index >= 0) list.splice(index, 1);
      if (list?.length === 0) this.#byId.delete(id);
    }
  }
}
