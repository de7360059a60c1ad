/**
 * The task queue on SQS: one queue (with its dead-letter queue) per task. A message
 * carries ids, never payloads; messages leaving together go in `SendMessageBatch` calls of
 * up to ten per queue.
 */
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
  type SendMessageBatchRequestEntry,
} from "@aws-sdk/client-sqs";
import * as z from "../zod.ts";
import type { TaskMessage } from "../engine/model.ts";
import type { TaskQueue } from "../engine/ports.ts";
import type { WakeScheduler } from "./scheduled-wakes.ts";

/** The dependencies of an {@link SqsTaskQueue}. */
export interface SqsTaskQueueOptions {
  readonly client: SQSClient;
  /** The URL of the queue that feeds a task's worker. */
  readonly queueUrl: (taskName: string) => string;
  /**
   * How many times entries the service refused are sent again before `send` fails.
   * @default 3
   */
  readonly maxResends?: number;
  /**
   * Makes a message delayed past SQS's 15 minutes one Scheduler schedule at its due time
   * instead of a message delayed 15 minutes that is sent again each time it comes early.
   * @default none: long delays are served by re-delayed messages
   */
  readonly wakes?: WakeScheduler;
}

/** SQS's longest per-message delay, in seconds. */
export const MAX_DELAY_SECONDS = 900;

const messageSchema = z.strictObject({
  executionId: z.string().check(z.minLength(1)),
  taskName: z.string().check(z.minLength(1)),
  attempt: z.number().check(z.int(), z.minimum(1)),
});

/** The body of a task message. */
export function encodeMessage(message: TaskMessage): string {
  return JSON.stringify({ executionId: message.executionId, taskName: message.taskName, attempt: message.attempt });
}

/**
 * Reads a task message's body.
 * @throws Error naming what is wrong with the body
 */
export function decodeMessage(body: string): TaskMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Error(`a task message must be JSON, got ${JSON.stringify(body.slice(0, 80))}`);
  }
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    throw new Error(`a task message needs executionId, taskName and attempt: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** Messages waiting for a batch to one queue, with the callers to tell. */
interface Lane {
  readonly url: string;
  readonly waiting: { entry: SendMessageBatchRequestEntry; done: (error?: Error) => void }[];
  inFlight: number;
}

/** Requests in flight per queue before further messages wait to share a batch. */
const MAX_IN_FLIGHT = 4;

/**
 * A {@link TaskQueue} on SQS. Sends to one queue coalesce: while {@link MAX_IN_FLIGHT}
 * requests are out, new messages wait and leave together, ten to a `SendMessageBatch`. An
 * idle queue sends at once, so batching costs no latency; a fan-out of a thousand children
 * is about a hundred requests instead of a thousand.
 */
export class SqsTaskQueue implements TaskQueue {
  readonly #o: SqsTaskQueueOptions;
  readonly #lanes = new Map<string, Lane>();

  /** @param options - the client and where each task's queue is */
  constructor(options: SqsTaskQueueOptions) {
    this.#o = options;
  }

  async send(messages: readonly TaskMessage[], delayMs?: number): Promise<void> {
    const wakes = this.#o.wakes;
    if (wakes !== undefined && delayMs !== undefined && delayMs > MAX_DELAY_SECONDS * 1000) {
      // Scheduler has no batch call: one schedule per message.
      await Promise.all(messages.map((message) => wakes.schedule(message, delayMs)));
      return;
    }
    // A longer delay is served in steps: the worker sends the message again until notBefore.
    const delaySeconds = delayMs === undefined ? undefined : Math.min(MAX_DELAY_SECONDS, Math.ceil(delayMs / 1000));
    const sent = messages.map((message) => {
      const url = this.#o.queueUrl(message.taskName);
      const key = `${delaySeconds ?? 0} ${url}`;
      let lane = this.#lanes.get(key);
      if (lane === undefined) {
        lane = { url, waiting: [], inFlight: 0 };
        this.#lanes.set(key, lane);
      }
      const entry: SendMessageBatchRequestEntry = { Id: "", MessageBody: encodeMessage(message), DelaySeconds: delaySeconds };
      const target = lane;
      return new Promise<void>((resolve, reject) => {
        target.waiting.push({ entry, done: (error) => (error === undefined ? resolve() : reject(error)) });
        // After this turn's other sends have joined the lane.
        queueMicrotask(() => this.#pump(target));
      });
    });
    await Promise.all(sent);
  }

  #pump(lane: Lane): void {
    while (lane.inFlight < MAX_IN_FLIGHT && lane.waiting.length > 0) {
      const batch = lane.waiting.splice(0, 10);
      lane.inFlight += 1;
      const entries = batch.map(({ entry }, n) => ({ ...entry, Id: String(n) }));
      void this.#sendBatch(lane.url, entries).then(
        () => batch.forEach(({ done }) => done()),
        (error: unknown) => batch.forEach(({ done }) => done(error instanceof Error ? error : new Error(String(error)))),
      ).finally(() => {
        lane.inFlight -= 1;
        this.#pump(lane);
      });
    }
  }

  async #sendBatch(queueUrl: string, entries: SendMessageBatchRequestEntry[]): Promise<void> {
    const [only] = entries;
    if (entries.length === 1 && only !== undefined) {
      // One message: a plain send costs the same request and wakes long polls at once.
      await this.#o.client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: only.MessageBody, DelaySeconds: only.DelaySeconds }),
      );
      return;
    }
    let pending = entries;
    for (let round = 0; ; round += 1) {
      const out = await this.#o.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      if (failed.size === 0) return;
      if (round >= (this.#o.maxResends ?? 3)) {
        const reasons = (out.Failed ?? []).map((f) => `${f.Code ?? "?"}: ${f.Message ?? ""}`).join("; ");
        throw new Error(`SQS refused ${failed.size} message(s) for ${queueUrl} after ${round + 1} tries: ${reasons}`);
      }
      pending = pending.filter((entry) => failed.has(entry.Id));
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
    }
  }
}
