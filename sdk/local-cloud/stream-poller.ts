/**
 * Lambda's DynamoDB stream event source, emulated: every shard of the table's stream is
 * read from its start and its records handed to the coordinator as a real
 * `DynamoDBStreamEvent`. New shards (the stream rolls them over) are found as they appear.
 */
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";

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
    while (!this.#stopped && iterator !== undefined) {
      try {
        const out = await this.#o.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
        iterator = out.NextShardIterator;
        const records = (out.Records ?? []).map(toRecord);
        if (records.length > 0) await this.#deliver(records);
        else await this.#pause(this.#o.idleMs ?? 100);
      } catch (error) {
        if (this.#stopped) return;
        console.error(`floe local cloud: reading shard ${shardId} failed`, error);
        await this.#pause(500);
      }
    }
  }

  /** Hands records to the coordinator, retrying the batch from its first failure, as Lambda does. */
  async #deliver(records: DynamoDBRecord[]): Promise<void> {
    let pending = records;
    for (let attempt = 0; pending.length > 0 && attempt < 3 && !this.#stopped; attempt += 1) {
      const { batchItemFailures } = await this.#o.coordinator({ Records: pending });
      const first = batchItemFailures[0]?.itemIdentifier;
      if (first === undefined) return;
      pending = pending.slice(Math.max(0, pending.findIndex((r) => r.dynamodb?.SequenceNumber === first)));
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
