/**
 * The local cloud's stream event source gives the coordinator every record, in order, as
 * the construct's mapping does: a batch whose invocation fails (an error, a timeout, a
 * crashed process) or that reports a record is tried again, not skipped; only after the
 * mapping's retries are its records given up. A completion skipped here would leave a
 * suspended workflow waiting for the reconciler.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { COORDINATOR_EVENTS } from "../../sdk/aws/contract.ts";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../sdk/local-cloud/dynamodb-local.ts";
import { StreamPoller } from "../../sdk/local-cloud/stream-poller.ts";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
let emulator: DynamoDbLocal;
let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let tables = 0;

beforeAll(async () => {
  emulator = await startDynamoDbLocal();
  dynamodb = new DynamoDBClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials });
  streams = new DynamoDBStreamsClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials });
}, 120_000);

afterAll(async () => {
  dynamodb.destroy();
  streams.destroy();
  await emulator.stop();
});

/** A table with a stream holding one record for each id, in this order. */
async function streamOf(ids: readonly string[]): Promise<string> {
  tables += 1;
  const TableName = `stream-${tables}`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName,
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
    }),
  );
  for (const id of ids) await dynamodb.send(new PutItemCommand({ TableName, Item: { id: { S: id } } }));
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName }));
  return Table?.LatestStreamArn ?? "";
}

const idsOf = (event: DynamoDBStreamEvent) => event.Records.map((r) => r.dynamodb?.NewImage?.id?.S ?? "");

/** Reads the stream with `coordinator` until `done`, then stops. */
async function read(streamArn: string, coordinator: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>, done: () => boolean): Promise<void> {
  const poller = new StreamPoller({ streams, streamArn, coordinator, idleMs: 10, batchSize: 3, retryPauseMs: 1 });
  poller.start();
  await vi.waitFor(() => expect(done()).toBe(true), { timeout: 20_000, interval: 20 });
  await poller.stop();
}

describe("the local cloud's stream event source", () => {
  it("tries again a batch whose invocation failed, and gives every record to the coordinator once it succeeds", async () => {
    const arn = await streamOf(["a", "b", "c", "d", "e"]);
    const delivered: string[] = [];
    let errors = 0;
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await read(
      arn,
      async (event) => {
        // The first two invocations fail as a timed-out or crashed function does.
        if (errors < 2) {
          errors += 1;
          throw new Error("Task timed out after 60.00 seconds");
        }
        delivered.push(...idsOf(event));
        return { batchItemFailures: [] };
      },
      () => delivered.length >= 5,
    ).finally(() => error.mockRestore());
    expect(delivered).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("tries again from the first record the coordinator reports, not the whole batch", async () => {
    const arn = await streamOf(["a", "b", "c"]);
    const calls: string[][] = [];
    await read(
      arn,
      async (event) => {
        calls.push(idsOf(event));
        const failed = calls.length === 1 ? event.Records[1] : undefined;
        return { batchItemFailures: failed === undefined ? [] : [{ itemIdentifier: failed.dynamodb?.SequenceNumber ?? "" }] };
      },
      () => calls.length >= 2,
    );
    expect(calls).toEqual([
      ["a", "b", "c"],
      ["b", "c"],
    ]);
  });

  it("gives a batch up only after the mapping's retries, then goes on with the next", { timeout: 60_000 }, async () => {
    const arn = await streamOf(["poison", "x", "y", "next"]);
    const tries: string[][] = [];
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      await read(
        arn,
        async (event) => {
          tries.push(idsOf(event));
          if (idsOf(event).includes("poison")) throw new Error("the coordinator cannot handle this record");
          return { batchItemFailures: [] };
        },
        () => tries.some((ids) => ids.includes("next")),
      );
    } finally {
      error.mockRestore();
    }
    const poisoned = tries.filter((ids) => ids.includes("poison"));
    expect(poisoned).toHaveLength(COORDINATOR_EVENTS.retryAttempts + 1);
    expect(tries.at(-1)).toEqual(["next"]);
  });
});
