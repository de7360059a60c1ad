/**
 * Counts every AWS request a client sends, by service and operation, and the DynamoDB
 * capacity units they consume: the raw figures of floe's cost per task.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SchedulerClient } from "@aws-sdk/client-scheduler";

/** Requests and capacity, as counted. */
export interface RequestCounts {
  /** `Service:Operation` → requests, e.g. `DynamoDB:UpdateItem`. */
  readonly requests: Map<string, number>;
  /**
   * DynamoDB write capacity units consumed, as billed: transactional writes count double,
   * the writes to secondary indexes are included, and so is the one unit of each single-item
   * conditional write whose condition failed.
   */
  writeUnits: number;
  /** Of `writeUnits`, those written to secondary indexes. */
  indexWriteUnits: number;
  /** Single-item conditional writes whose condition failed (each billed one write unit). */
  failedConditions: number;
  /** DynamoDB read capacity units consumed, as billed (a read that finds nothing still costs its minimum). */
  readUnits: number;
  /** `DynamoDB:Operation` → capacity units consumed (write units for writes, read units for reads). */
  readonly units: Map<string, number>;
}

/** A fresh, empty tally. */
export function newRequestCounts(): RequestCounts {
  return { requests: new Map(), writeUnits: 0, indexWriteUnits: 0, failedConditions: 0, readUnits: 0, units: new Map() };
}

interface Units {
  readonly CapacityUnits?: number;
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
}

interface Capacity extends Units {
  readonly GlobalSecondaryIndexes?: Record<string, Units>;
  readonly LocalSecondaryIndexes?: Record<string, Units>;
}

const conditionalWrites = new Set(["PutItem", "UpdateItem", "DeleteItem"]);
const minimumRead = new Set(["GetItem", "Query", "Scan"]);

const dynamoWrites = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
const dynamoReads = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);

/**
 * Adds counting middleware to the clients; the counts accumulate in `counts`.
 * @example
 * const counts = newRequestCounts();
 * countRequests({ dynamodb, sqs, s3 }, counts);
 */
export function countRequests(
  clients: { readonly dynamodb?: DynamoDBClient; readonly sqs?: SQSClient; readonly s3?: S3Client; readonly scheduler?: SchedulerClient },
  counts: RequestCounts,
): void {
  const tally = (service: string, command: string | undefined) => {
    const key = `${service}:${(command ?? "?").replace(/Command$/, "")}`;
    counts.requests.set(key, (counts.requests.get(key) ?? 0) + 1);
  };
  clients.dynamodb?.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "").replace(/Command$/, "");
      const input = args.input as { ReturnConsumedCapacity?: string };
      const writes = dynamoWrites.has(operation);
      // INDEXES: the total, which includes the indexes' units, and the indexes' share of it.
      if (writes || dynamoReads.has(operation)) input.ReturnConsumedCapacity = "INDEXES";
      tally("DynamoDB", context.commandName);
      const key = `DynamoDB:${operation}`;
      const add = (units: number) => {
        if (writes) counts.writeUnits += units;
        else counts.readUnits += units;
        counts.units.set(key, (counts.units.get(key) ?? 0) + units);
      };
      let result;
      try {
        result = await next(args);
      } catch (error) {
        // A failed condition answers with an error and no capacity, but is billed: one unit
        // for an item under 1 KB, as floe's records and edges are.
        if (conditionalWrites.has(operation) && (error as { name?: string }).name === "ConditionalCheckFailedException") {
          counts.failedConditions += 1;
          add(1);
        }
        throw error;
      }
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      for (const capacity of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
        const total = capacity.CapacityUnits ?? 0;
        let units = writes ? (capacity.WriteCapacityUnits ?? total) : (capacity.ReadCapacityUnits ?? total);
        // DynamoDB Local reports nothing for a read that finds nothing; DynamoDB bills it
        // the minimum of one unit (half for an eventually consistent read).
        if (minimumRead.has(operation)) units = Math.max(units, (args.input as { ConsistentRead?: boolean }).ConsistentRead === true ? 1 : 0.5);
        // DynamoDB Local under-reports a transaction of more than two items; DynamoDB bills
        // two units for each item under 1 KB, as floe's records and edges are.
        if (operation === "TransactWriteItems") units = Math.max(units, 2 * ((args.input as { TransactItems?: unknown[] }).TransactItems?.length ?? 0));
        add(units);
        if (!writes) continue;
        for (const index of [...Object.values(capacity.GlobalSecondaryIndexes ?? {}), ...Object.values(capacity.LocalSecondaryIndexes ?? {})]) {
          counts.indexWriteUnits += index.WriteCapacityUnits ?? index.CapacityUnits ?? 0;
        }
      }
      return result;
    },
    { step: "initialize", name: "floeRequestCounter" },
  );
  clients.sqs?.middlewareStack.add(
    (next, context) => async (args) => {
      tally("SQS", context.commandName);
      return next(args);
    },
    { step: "initialize", name: "floeRequestCounter" },
  );
  clients.s3?.middlewareStack.add(
    (next, context) => async (args) => {
      tally("S3", context.commandName);
      return next(args);
    },
    { step: "initialize", name: "floeRequestCounter" },
  );
  clients.scheduler?.middlewareStack.add(
    (next, context) => async (args) => {
      tally("Scheduler", context.commandName);
      return next(args);
    },
    { step: "initialize", name: "floeRequestCounter" },
  );
}
