/** A counting semaphore whose waiters are served in order. */
import type { Slots } from "../runtime/runtime.ts";

/** Concurrency slots; `onFree` is told when a slot comes back with nobody waiting for it. */
export class Semaphore implements Slots {
  #free: number;
  readonly #waiters: (() => void)[] = [];
  readonly #onFree: () => void;

  /**
   * @param size - how many slots
   * @param onFree - called when a slot is free and no waiter wants it (to start new work)
   */
  constructor(size: number, onFree: () => void) {
    this.#free = size;
    this.#onFree = onFree;
  }

  /** Takes a slot now if one is free. */
  tryAcquire(): boolean {
    if (this.#free === 0) return false;
    this.#free -= 1;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    // A task resuming after a wait goes before new work from the queue.
    const next = this.#waiters.shift();
    if (next !== undefined) {
      next();
      return;
    }
    this.#free += 1;
    this.#onFree();
  }
}
