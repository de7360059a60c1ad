/** A clock that moves only when the test says (the `Clock` port), for the engine's timers. */
import type { Clock } from "../../sdk/engine/ports.ts";

/**
 * Timers fire only as the test moves the clock, each at its own time and in time order,
 * so one that schedules another within the same move sees that one fire too.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void }[] = [];

  /** @param start - the time to start at, epoch milliseconds */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    return () => (this.#timers = this.#timers.filter((t) => t !== timer));
  }

  /** Moves `ms` forward, firing each timer due on the way at its own time. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Moves to `to`, firing each timer due on the way at its own time. */
  advanceTo(to: number): void {
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= to).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = Math.max(this.#now, to);
  }
}
