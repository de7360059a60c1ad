/**
 * SQS as the worker sees it, in memory and on a clock the test controls: a message sent
 * with a delay becomes visible then (at most 15 minutes later, as SQS caps delays), a
 * received message is invisible for the visibility timeout and comes back unless its
 * handler succeeded, and a send fails on command, before it reaches the queue or after
 * (the message is queued, the response lost).
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { MAX_DELAY_SECONDS, encodeMessage } from "../../sdk/aws/sqs-task-queue.ts";
import type { TaskMessage } from "../../sdk/engine/model.ts";
import type { Clock, TaskQueue } from "../../sdk/engine/ports.ts";
import { sqsRecord } from "./sqs-event.ts";

/** A clock that moves only when the test says. Timers fire as it passes them. */
export class ManualClock implements Clock {
  #now: number;
  readonly #timers = new Set<{ at: number; fn: () => void }>();

  /** @param start - the time to start at, epoch milliseconds */
  constructor(start = 1_800_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Moves `ms` forward, firing the timers passed on the way. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Moves to `at` (never back), firing the timers passed on the way. */
  advanceTo(at: number): void {
    this.#now = Math.max(this.#now, at);
    for (const timer of [...this.#timers].sort((a, b) => a.at - b.at)) {
      if (timer.at > this.#now) break;
      this.#timers.delete(timer);
      timer.fn();
    }
  }
}

/** A send fault: the next `times` sends of a message for `executionId` (any, if absent) fail. */
export interface SendFault {
  readonly executionId?: string;
  readonly taskName?: string;
  /** `before`: nothing is queued; `after`: the message is queued, the response lost. */
  readonly mode: "before" | "after";
  times: number;
}

/** Thrown by an injected send fault. */
export class InjectedSendFault extends Error {
  override name = "InjectedSendFault";
}

interface Held {
  readonly id: number;
  readonly message: TaskMessage;
  visibleAt: number;
  receives: number;
}

/** One queue for every task (their queues behave alike), with SQS's delivery rules. */
export class SimulatedSqs implements TaskQueue {
  readonly faults: SendFault[] = [];
  /** Every send that reached the queue, with its delay in seconds. */
  readonly sent: { message: TaskMessage; delaySeconds: number }[] = [];
  readonly #held: Held[] = [];
  #ids = 0;

  /**
   * @param clock - the test's clock
   * @param visibilityTimeoutMs - how long a received message stays invisible
   */
  constructor(
    readonly clock: ManualClock,
    readonly visibilityTimeoutMs: number,
  ) {}

  send(messages: readonly TaskMessage[], delayMs?: number): Promise<void> {
    // Asynchronous, as a request is: a failure reaches the caller as a rejection.
    return Promise.resolve().then(() => {
      let failed: SendFault | undefined;
      for (const message of messages) {
        const fault = this.faults.find(
          (f) => f.times > 0 && (f.executionId ?? message.executionId) === message.executionId && (f.taskName ?? message.taskName) === message.taskName,
        );
        if (fault !== undefined) {
          fault.times -= 1;
          failed = fault;
          if (fault.mode === "before") continue;
        }
        const delaySeconds = delayMs === undefined ? 0 : Math.min(MAX_DELAY_SECONDS, Math.ceil(delayMs / 1000));
        this.sent.push({ message, delaySeconds });
        this.#held.push({ id: (this.#ids += 1), message, visibleAt: this.clock.now() + delaySeconds * 1000, receives: 0 });
      }
      if (failed !== undefined) throw new InjectedSendFault(`SendMessage failed ${failed.mode} reaching the queue`);
    });
  }

  /** Messages in the queue, visible or not. */
  get size(): number {
    return this.#held.length;
  }

  /**
   * Delivers every visible message to `handler`, one event each and concurrently, as the
   * event source does; deletes those it handled, hides the rest for the visibility timeout.
   * When none is visible, first moves the clock to the next one. Returns how many it delivered.
   */
  async deliver(handler: (event: SQSEvent) => Promise<SQSBatchResponse>, copies = 1): Promise<number> {
    if (this.#held.length === 0) return 0;
    const now = this.clock.now();
    let visible = this.#held.filter((h) => h.visibleAt <= now);
    if (visible.length === 0) {
      this.clock.advanceTo(Math.min(...this.#held.map((h) => h.visibleAt)));
      visible = this.#held.filter((h) => h.visibleAt <= this.clock.now());
    }
    for (const held of visible) {
      held.receives += 1;
      held.visibleAt = this.clock.now() + this.visibilityTimeoutMs;
    }
    await Promise.all(
      visible.map(async (held) => {
        const event = { Records: [sqsRecord(encodeMessage(held.message), `m${held.id}`, held.receives)] };
        const responses = await Promise.all(Array.from({ length: copies }, () => handler(event)));
        if (responses.every((r) => r.batchItemFailures.length === 0)) this.#held.splice(this.#held.indexOf(held), 1);
      }),
    );
    return visible.length;
  }
}
