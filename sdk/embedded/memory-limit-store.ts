/** The in-memory counters of concurrency and rate limits (the embedded engine's). */
import type { LimitStore, LimitWaiter, Slot, Slots } from "../engine/ports.ts";

/**
 * Keeps each limit's holders, held executions and starts in maps. Every method runs to
 * completion without yielding, so each is atomic, as the DynamoDB adapter's conditional
 * writes are.
 */
export class MemoryLimitStore implements LimitStore {
  readonly #holders = new Map<string, Set<string>>();
  /** Held executions by limit, in the order they were held (ties by id, as DynamoDB sorts them). */
  readonly #waiters = new Map<string, Map<string, LimitWaiter>>();
  /** Each rate-limit window's count of starts, by limit and window. */
  readonly #windows = new Map<string, Map<number, number>>();

  acquire(key: string, id: string, limit: number): Slot {
    let holders = this.#holders.get(key);
    if (holders === undefined) this.#holders.set(key, (holders = new Set()));
    const added = !holders.has(id) && holders.size < limit;
    if (added) holders.add(id);
    return { admitted: holders.has(id), added, holders: holders.size };
  }

  slots(key: string, ids: readonly string[]): Slots {
    const holders = this.#holders.get(key);
    return { holding: ids.filter((id) => holders?.has(id) === true), holders: holders?.size ?? 0 };
  }

  vacate(key: string, id: string): void {
    this.#holders.get(key)?.delete(id);
  }

  hold(key: string, waiter: LimitWaiter): void {
    let waiters = this.#waiters.get(key);
    if (waiters === undefined) this.#waiters.set(key, (waiters = new Map()));
    if (!waiters.has(waiter.id)) waiters.set(waiter.id, waiter);
  }

  unhold(key: string, waiter: LimitWaiter): void {
    this.#waiters.get(key)?.delete(waiter.id);
  }

  waiters(key: string, count: number, after?: LimitWaiter): LimitWaiter[] {
    const order = (a: LimitWaiter, b: LimitWaiter) => a.since - b.since || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const all = [...(this.#waiters.get(key)?.values() ?? [])].sort(order);
    return (after === undefined ? all : all.filter((w) => order(w, after) > 0)).slice(0, count);
  }

  countStart(key: string, window: number, periodMs: number, now: number): number {
    let windows = this.#windows.get(key);
    if (windows === undefined) this.#windows.set(key, (windows = new Map()));
    const count = (windows.get(window) ?? 0) + 1;
    windows.set(window, count);
    // Ended windows are dropped, as DynamoDB's TTL drops their items.
    for (const w of windows.keys()) if ((w + 1) * periodMs <= now) windows.delete(w);
    return count;
  }

  /** How many executions hold a slot of `key` now (for tests and views). */
  holders(key: string): number {
    return this.#holders.get(key)?.size ?? 0;
  }
}
