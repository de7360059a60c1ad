/**
 * A clock for the local cloud that a test jumps ahead: real time plus an offset, with real
 * timers, so the functions' short timers (suspension, cancel polls) still run while a
 * month of sleep passes in one call. And the counting of delayed SQS sends.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Clock } from "../../sdk/engine/ports.ts";
import { systemClock } from "../../sdk/runtime/system.ts";

/** The system clock, plus what the test has jumped. */
export class JumpClock implements Clock {
  #offset = 0;

  now(): number {
    return Date.now() + this.#offset;
  }

  schedule(ms: number, fn: () => void): () => void {
    return systemClock.schedule(ms, fn);
  }

  /** Moves time `ms` ahead, at once. */
  jump(ms: number): void {
    this.#offset += ms;
  }
}

/**
 * Counts the SQS messages sent, by their delay in seconds (0 for none), into `sends`. With
 * `passDelay`, a delayed message is sent undelayed and `passDelay` told its delay instead
 * (a test moves its clock by it): SQS delays in real time.
 */
export function countSends(sqs: SQSClient, sends: Map<number, number>, passDelay?: (seconds: number) => void): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { DelaySeconds?: number; Entries?: { DelaySeconds?: number }[] };
      const entries = context.commandName === "SendMessageCommand" ? [input] : context.commandName === "SendMessageBatchCommand" ? (input.Entries ?? []) : [];
      for (const entry of entries) {
        const seconds = entry.DelaySeconds ?? 0;
        sends.set(seconds, (sends.get(seconds) ?? 0) + 1);
        if (passDelay !== undefined && seconds > 0) {
          passDelay(seconds);
          entry.DelaySeconds = 0;
        }
      }
      return next(args);
    },
    { step: "initialize", name: "countSends" },
  );
}

/** Waits (in real time, polling) until `done` holds. */
export async function waitFor(done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
