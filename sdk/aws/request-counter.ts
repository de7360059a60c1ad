/**
 * Counts every AWS request a client sends, by service and operation, and the DynamoDB
 * capacity units they consume: the raw figures of floe's cost per task.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";

/** Requests and capacity, as counted. */
export interface RequestCounts {
  /** `Service:Operation` → requests, e.g. `DynamoDB:UpdateItem`. */
  readonly requests: Map<string, number>;
  /** DynamoDB write capacity units consumed (transactional writes count double, as billed). */
  writeUnits: number;
  /** DynamoDB read capacity units consumed. */
  readUnits: number;
}

/** A fresh, empty tally. */
export function newRequestCounts(): RequestCounts {
  return { requests: new Map(), writeUnits: 0, readUnits: 0 };
}

interface Capacity {
  readonly CapacityUnits?: number;
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
}

const dynamoWrites = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
const dynamoReads = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);

/**
 * Adds counting middleware to the clients; the counts accumulate in `counts`.
 * @example
 * const counts = newRequestCounts();
 * countRequests({ dynamodb, sqs, s3 }, counts);
 */
export function countRequests(
  clients: { readonly dynamodb?: DynamoDBClient; readonly sqs?: SQSClient; readonly s3?: S3Client },
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
      if (dynamoWrites.has(operation) || dynamoReads.has(operation)) input.ReturnConsumedCapacity = "TOTAL";
      tally("DynamoDB", context.commandName);
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      for (const capacity of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
        const units = capacity.CapacityUnits ?? 0;
        if (dynamoWrites.has(operation)) counts.writeUnits += capacity.WriteCapacityUnits ?? units;
        else counts.readUnits += capacity.ReadCapacityUnits ?? units;
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
}
