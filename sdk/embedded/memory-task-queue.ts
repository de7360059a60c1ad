/** The in-process task queue of the embedded engine. */
import type { TaskMessage } from "../engine/model.ts";
import type { Clock, TaskQueue } from "../engine/ports.ts";

/** A FIFO of task messages; delayed messages join it when their delay has passed. */
export class MemoryTaskQueue implements TaskQueue {
  readonly #clock: Clock;
  readonly #timers = new Set<() => void>();
  #ready: TaskMessage[] = [];
  #head = 0;
  #listener: (() => void) | undefined;

  /** @param clock - schedules delayed messages */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  send(messages: readonly TaskMessage[], delayMs?: number): void {
    if (delayMs !== undefined && delayMs > 0) {
      const cancel = this.#clock.schedule(delayMs, () => {
        this.#timers.delete(cancel);
        this.#push(messages);
      });
      this.#timers.add(cancel);
      return;
    }
    this.#push(messages);
  }

  /** Takes the next ready message, if any. */
  take(): TaskMessage | undefined {
    if (this.#head >= this.#ready.length) return undefined;
    const message = this.#ready[this.#head];
    this.#head += 1;
    // Compact now and then so a long run does not keep every delivered message.
    if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#head);
      this.#head = 0;
    }
    return message;
  }

  /** Messages ready to be taken now. */
  get ready(): number {
    return this.#ready.length - this.#head;
  }

  /** Messages ready to be taken, plus those still delayed. */
  get size(): number {
    return this.#ready.length - this.#head + this.#timers.size;
  }

  /** Calls `listener` whenever messages become ready (synchronously: it should defer its work). */
  onReady(listener: () => void): void {
    this.#listener = listener;
  }

  /** Drops delayed messages and stops notifying. */
  close(): void {
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    this.#listener = undefined;
  }

  #push(messages: readonly TaskMessage[]): void {
    for (const message of messages) this.#ready.push(message);
    this.#listener?.();
  }
}
