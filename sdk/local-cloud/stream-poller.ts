/**
 * Lambda's DynamoDB stream event source, emulated: every shard of the table's stream is
 * read from its start and its records handed to the coordinator as a real
 * `DynamoDBStreamEvent`. New shards (the stream rolls them over) are found as they appear.
 * As an event source mapping does, it drops the records its filter rejects and gathers
 * the rest into batches of up to `batchSize`, waiting up to the batching window to fill one.
 * A batch the coordinator fails, by an error or by reporting a record, is tried again as
 * the construct's mapping does (`COORDINATOR_EVENTS.retryAttempts` times), never skipped
 * while tries remain: a dropped completion would leave its dependents waiting until the
 * reconciler's next pass.
 */
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { COORDINATOR_EVENTS } from "../aws/contract.ts";

/** The dependencies of a {@link StreamPoller}. */
export interface StreamPollerOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly coordinator: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  /**
   * Pause between reads of a shard with nothing new, in milliseconds.
   * @default 100
   */
  readonly idleMs?: number;
  /** The records the coordinator is given (the mapping's filter criteria); others are dropped. */
  readonly filter?: (record: DynamoDBRecord) => boolean;
  /**
   * The most records in one event.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long records wait for a batch to fill, in milliseconds.
   * @default 0
   */
  readonly batchingWindowMs?: number;
  /**
   * How many times a failed batch is tried again before its records are given up.
   * @default COORDINATOR_EVENTS.retryAttempts, as the construct's mapping
   */
  readonly retryAttempts?: number;
  /**
   * The pause before the first retry of a failed batch, in milliseconds; it doubles with
   * each retry, up to 5 s, so that a coordinator slowed by a loaded machine can catch up.
   * @default 100
   */
  readonly retryPauseMs?: number;
}

/** Reads the table's stream and feeds the coordinator. */
export class StreamPoller {
  readonly #o: StreamPollerOptions;
  readonly #shards = new Set<string>();
  readonly #loops: Promise<void>[] = [];
  #stopped = false;
  #discovery: Promise<void> | undefined;
  readonly #abort = new AbortController();

  /** @param options - see {@link StreamPollerOptions} */
  constructor(options: StreamPollerOptions) {
    this.#o = options;
  }

  /** Starts reading. */
  start(): void {
    this.#discovery = this.#discover();
  }

  /** Stops reading and waits for the loops to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#discovery;
    await Promise.all(this.#loops);
  }

  async #discover(): Promise<void> {
    while (!this.#stopped) {
      try {
        const { StreamDescription } = await this.#o.streams.send(new DescribeStreamCommand({ StreamArn: this.#o.streamArn }));
        for (const shard of StreamDescription?.Shards ?? []) {
          const id = shard.ShardId;
          if (id === undefined || this.#shards.has(id)) continue;
          this.#shards.add(id);
          this.#loops.push(this.#read(id));
        }
      } catch (error) {
        if (!this.#stopped) console.error("floe local cloud: describing the stream failed", error);
      }
      await this.#pause(1_000);
    }
  }

  async #read(shardId: string): Promise<void> {
    let iterator: string | undefined;
    try {
      const out = await this.#o.streams.send(
        new GetShardIteratorCommand({ StreamArn: this.#o.streamArn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }),
      );
      iterator = out.ShardIterator;
    } catch (error) {
      if (!this.#stopped) console.error(`floe local cloud: opening shard ${shardId} failed`, error);
      return;
    }
    const batchSize = this.#o.batchSize ?? 100;
    const windowMs = this.#o.batchingWindowMs ?? 0;
    const gathered: DynamoDBRecord[] = [];
    let since = 0;
    while (!this.#stopped && iterator !== undefined) {
      try {
        const out = await this.#o.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1_000 }));
        iterator = out.NextShardIterator;
        const read = out.Records ?? [];
        const kept = read.map(toRecord).filter((record) => this.#o.filter?.(record) ?? true);
        if (gathered.length === 0) since = Date.now();
        gathered.push(...kept);
        while (gathered.length >= batchSize) await this.#deliver(gathered.splice(0, batchSize));
        if (gathered.length > 0 && Date.now() - since >= windowMs) await this.#deliver(gathered.splice(0));
        if (read.length === 0) await this.#pause(Math.min(this.#o.idleMs ?? 100, gathered.length > 0 ? windowMs : Infinity));
      } catch (error) {
        if (this.#stopped) return;
        console.error(`floe local cloud: reading shard ${shardId} failed`, error);
        await this.#pause(500);
      }
    }
  }

  /**
   * Hands records to the coordinator, retrying the batch from its first reported failure,
   * or whole after an error of the invocation (a timeout, a crashed process), as Lambda does.
   */
  async #deliver(records: DynamoDBRecord[]): Promise<void> {
    const retries = this.#o.retryAttempts ?? COORDINATOR_EVENTS.retryAttempts;
    let pending = records;
    for (let attempt = 0; !this.#stopped; attempt += 1) {
      try {
        const { batchItemFailures } = await this.#o.coordinator({ Records: pending });
        const first = batchItemFailures[0]?.itemIdentifier;
        if (first === undefined) return;
        pending = pending.slice(Math.max(0, pending.findIndex((r) => r.dynamodb?.SequenceNumber === first)));
      } catch (error) {
        if (this.#stopped) return;
        console.error(`floe local cloud: the coordinator failed a batch of ${pending.length} stream records (try ${attempt + 1} of ${retries + 1})`, error);
      }
      if (attempt >= retries) {
        const ids = pending.map((r) => r.dynamodb?.NewImage?.id?.S ?? r.eventID).join(", ");
        console.error(`floe local cloud: gave up on ${pending.length} stream records after ${retries + 1} tries (in AWS they go to the coordinator's failure queue): ${ids}`);
        return;
      }
      await this.#pause(Math.min(5_000, (this.#o.retryPauseMs ?? 100) * 2 ** attempt));
    }
  }

  /** Waits `ms`, or less if the poller stops meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#abort.signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      this.#abort.signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function toRecord(record: _Record): DynamoDBRecord {
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    dynamodb: record.dynamodb as DynamoDBRecord["dynamodb"],
  };
}
