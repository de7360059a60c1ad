/**
 * Lambda's SQS event source, emulated: each queue is polled, each batch is handed to the
 * queue's function (its task's worker, or the dead-letter handler) as a real `SQSEvent`,
 * the messages it did not report as failures are deleted, and the rest come back after the
 * visibility timeout (and move to the dead-letter queue after `maxReceiveCount`
 * deliveries, which SQS itself enforces).
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { setMaxListeners } from "node:events";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { TaskMessage } from "../engine/model.ts";
import type { TaskQueue } from "../engine/ports.ts";

/** Queues to poll: those that exist, and each one as it is created. */
export interface QueueSource {
  /** The queues created so far. */
  ready(): string[];
  /** Told of each queue as it is created. */
  onCreated(listener: (url: string) => void): void;
}

/** The queues of the local cloud, created on first use. */
export interface QueueSet extends QueueSource {
  /** The URL of a task's queue; the queue must have been ensured. */
  url(taskName: string): string;
  /** Creates the task's queue and dead-letter queue if they do not exist; resolves to its URL. */
  ensure(taskName: string): Promise<string>;
  /** The dead-letter queues. */
  readonly deadLetters: QueueSource;
}

/** A list of queue URLs that tells listeners of each one added. */
class Urls implements QueueSource {
  readonly #urls: string[] = [];
  readonly #listeners: ((url: string) => void)[] = [];

  add(url: string): void {
    this.#urls.push(url);
    for (const listener of this.#listeners) listener(url);
  }

  ready(): string[] {
    return [...this.#urls];
  }

  onCreated(listener: (url: string) => void): void {
    this.#listeners.push(listener);
  }
}

/** Queue settings, as the CDK construct sets them. */
export interface QueueSettings {
  /** Queue names are `<prefix>-<task>` and `<prefix>-<task>-dlq`. */
  readonly prefix: string;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
}

/** A {@link QueueSet} on SQS: `<prefix>-<task>` with its dead-letter queue `<prefix>-<task>-dlq`. */
export class QueueSetOnSqs implements QueueSet {
  readonly #sqs: SQSClient;
  readonly #settings: QueueSettings;
  readonly #creating = new Map<string, Promise<string>>();
  readonly #urls = new Map<string, string>();
  readonly #tasks = new Map<string, string>();
  readonly #queues = new Urls();
  readonly deadLetters = new Urls();

  /**
   * @param sqs - the client
   * @param settings - visibility timeout and redrive
   */
  constructor(sqs: SQSClient, settings: QueueSettings) {
    this.#sqs = sqs;
    this.#settings = settings;
  }

  url(taskName: string): string {
    const url = this.#urls.get(taskName);
    if (url === undefined) throw new Error(`the queue of task "${taskName}" was used before it was created`);
    return url;
  }

  /** The task whose queue (not dead-letter queue) `url` is; `undefined` for another URL. */
  taskOf(url: string): string | undefined {
    return this.#tasks.get(url);
  }

  ensure(taskName: string): Promise<string> {
    let creating = this.#creating.get(taskName);
    if (creating === undefined) {
      creating = this.#create(taskName);
      this.#creating.set(taskName, creating);
    }
    return creating;
  }

  ready(): string[] {
    return this.#queues.ready();
  }

  onCreated(listener: (url: string) => void): void {
    this.#queues.onCreated(listener);
  }

  async #create(taskName: string): Promise<string> {
    const name = `${this.#settings.prefix}-${taskName}`;
    const dlq = await this.#sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const attributes = await this.#sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    const { QueueUrl } = await this.#sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(this.#settings.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: attributes.Attributes?.QueueArn,
            maxReceiveCount: this.#settings.maxReceiveCount,
          }),
        },
      }),
    );
    if (QueueUrl === undefined) throw new Error(`SQS returned no URL for the queue of "${taskName}"`);
    this.#urls.set(taskName, QueueUrl);
    this.#tasks.set(QueueUrl, taskName);
    if (dlq.QueueUrl !== undefined) this.deadLetters.add(dlq.QueueUrl);
    this.#queues.add(QueueUrl);
    return QueueUrl;
  }
}

/**
 * A task queue that creates each task's queue before its first message and, once sent,
 * tells the poller, which then receives at once instead of at its next poll.
 */
export class EnsuringTaskQueue implements TaskQueue {
  readonly #queues: QueueSet;
  readonly #inner: TaskQueue;
  readonly #onSent: (queueUrls: string[]) => void;

  /**
   * @param queues - creates queues on demand
   * @param inner - sends once they exist
   * @param onSent - told which queues just received messages
   */
  constructor(queues: QueueSet, inner: TaskQueue, onSent: (queueUrls: string[]) => void) {
    this.#queues = queues;
    this.#inner = inner;
    this.#onSent = onSent;
  }

  async send(messages: readonly TaskMessage[], delayMs?: number): Promise<void> {
    const urls = await Promise.all([...new Set(messages.map((m) => m.taskName))].map((task) => this.#queues.ensure(task)));
    await this.#inner.send(messages, delayMs);
    if (delayMs === undefined || delayMs <= 0) this.#onSent(urls);
  }
}

/** How often a queue nobody nudged is polled, in milliseconds. */
const idlePollMs = 250;

/** A function fed by a queue, as Lambda invokes it. */
export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** The dependencies of a {@link QueuePoller}. */
export interface QueuePollerOptions {
  readonly sqs: SQSClient;
  readonly queues: QueueSource;
  /**
   * The function a queue's batches are handed to (its task's worker, or the dead-letter
   * handler), asked once per queue, when its polling starts.
   */
  readonly handlerFor: (queueUrl: string) => SqsHandler;
  /** How many messages may be in process at once, across every queue. */
  readonly concurrency: number;
  /**
   * The most messages in one event (an event source mapping's `BatchSize`, up to 10).
   * @default 10, or `concurrency` if less
   */
  readonly batchSize?: number;
}

/** Polls every queue and feeds each one's batches to its function. */
export class QueuePoller {
  readonly #o: QueuePollerOptions;
  readonly #loops: Promise<void>[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #free: number;
  readonly #waiting: { count: number; resolve: () => void }[] = [];
  #stopped = false;
  readonly #abort = new AbortController();
  readonly #wakers = new Map<string, () => void>();
  readonly #nudged = new Set<string>();

  /** @param options - see {@link QueuePollerOptions} */
  constructor(options: QueuePollerOptions) {
    this.#o = options;
    this.#free = options.concurrency;
    // Each queue's loop keeps one receive in flight, and the SDK listens on this signal
    // until that receive returns, then stops: an app of more than ten tasks goes past the
    // ten listeners at which Node warns of a leak, with no leak.
    setMaxListeners(0, this.#abort.signal);
  }

  /** Starts polling the queues that exist and each one created later. */
  start(): void {
    for (const url of this.#o.queues.ready()) this.#poll(url);
    this.#o.queues.onCreated((url) => this.#poll(url));
  }

  /** Receives from these queues now: messages were just sent to them. */
  nudge(queueUrls: readonly string[]): void {
    for (const url of queueUrls) {
      const wake = this.#wakers.get(url);
      // A nudge while the queue is being read is kept for when that read comes back empty.
      if (wake === undefined) this.#nudged.add(url);
      else wake();
    }
  }

  /** Stops polling and waits for the batches in process. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    for (const wake of this.#wakers.values()) wake();
    for (const waiter of this.#waiting.splice(0)) waiter.resolve();
    await Promise.all(this.#loops);
    await Promise.all(this.#inFlight);
  }

  #poll(url: string): void {
    this.#loops.push(this.#loop(url));
  }

  async #loop(url: string): Promise<void> {
    const handler = this.#o.handlerFor(url);
    const batchSize = Math.min(this.#o.batchSize ?? 10, 10, this.#o.concurrency);
    while (!this.#stopped) {
      let messages: Message[];
      try {
        const out = await this.#o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: batchSize,
            // Short polls: a nudge brings in what this process sends; the periodic poll
            // what becomes visible later (delays, visibility timeouts), or other senders' messages.
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
          }),
          { abortSignal: this.#abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (this.#stopped) return;
        console.error(`floe local cloud: receiving from ${url} failed`, error);
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (messages.length === 0) {
        await this.#idle(url);
        continue;
      }
      await this.#acquire(messages.length);
      if (this.#stopped) return;
      const invocation = this.#invoke(url, handler, messages).finally(() => {
        this.#release(messages.length);
        this.#inFlight.delete(invocation);
      });
      this.#inFlight.add(invocation);
    }
  }

  /** Waits for a nudge, or for the next periodic poll. */
  #idle(url: string): Promise<void> {
    if (this.#nudged.delete(url)) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(url);
        resolve();
      };
      const timer = setTimeout(wake, idlePollMs);
      this.#wakers.set(url, wake);
    });
  }

  async #invoke(url: string, handler: SqsHandler, messages: Message[]): Promise<void> {
    const records = messages.map((m) => toRecord(url, m));
    let failed = new Set<string>(records.map((r) => r.messageId));
    try {
      const response = await handler({ Records: records });
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch (error) {
      // A handler that throws fails the whole batch, as in Lambda.
      console.error(`floe local cloud: the function of ${url} failed a batch`, error);
    }
    const done = messages.filter((m) => !failed.has(m.MessageId ?? ""));
    if (done.length === 0) return;
    try {
      await this.#o.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    } catch (error) {
      // A message left undeleted comes back after its visibility timeout and is dropped at
      // claim. A stopped cloud's clients refuse every request (a data folder's close):
      // failing here would fail the close itself.
      if (!this.#stopped) console.error(`floe local cloud: deleting handled messages from ${url} failed`, error);
    }
  }

  async #acquire(count: number): Promise<void> {
    if (this.#waiting.length === 0 && this.#free >= count) {
      this.#free -= count;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push({ count, resolve }));
  }

  #release(count: number): void {
    this.#free += count;
    // Served in order, each when its whole batch fits.
    while (this.#waiting.length > 0 && (this.#waiting[0]?.count ?? Infinity) <= this.#free) {
      const next = this.#waiting.shift();
      if (next === undefined) break;
      this.#free -= next.count;
      next.resolve();
    }
  }
}

function toRecord(url: string, message: Message): SQSRecord {
  const name = url.split("/").at(-1) ?? "";
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    awsRegion: "us-east-1",
  };
}
