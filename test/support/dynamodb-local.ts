/** DynamoDB Local for a test file: started once, a fresh table for each store asked for. */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, type BatchWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { executionTableDefinition } from "../../sdk/aws/contract.ts";
import { DynamoDbExecutionStore } from "../../sdk/aws/dynamodb-execution-store.ts";
import { countRequests, type RequestCounts } from "../../sdk/aws/request-counter.ts";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../sdk/local-cloud/dynamodb-local.ts";

/**
 * Starts DynamoDB Local before the file's tests and stops it after them.
 * @returns a factory of stores, each on a new table of its own
 */
export function useDynamoDbLocal(): LocalStores {
  let emulator: DynamoDbLocal | undefined;
  let client: DynamoDBClient | undefined;
  let tables = 0;
  beforeAll(async () => {
    emulator = await startDynamoDbLocal();
    client = new DynamoDBClient({
      endpoint: emulator.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  }, 120_000);
  afterAll(async () => {
    client?.destroy();
    await emulator?.stop();
  });
  const make = async ({ counts, wrap, ...options }: StoreOptions = {}) => {
    if (client === undefined || emulator === undefined) throw new Error("DynamoDB Local is not running: call useDynamoDbLocal() at the top of the file");
    tables += 1;
    const tableName = `floe-${tables}`;
    await client.send(new CreateTableCommand(executionTableDefinition(tableName)));
    let base = client;
    if (counts !== undefined) {
      // A client of its own, so that only this store's requests are counted.
      base = new DynamoDBClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
      countRequests({ dynamodb: base }, counts);
    }
    const document = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
    return new DynamoDbExecutionStore({ client: wrap?.(document) ?? document, tableName, ...options });
  };
  return Object.assign(make, {
    tableName: () => `floe-${tables}`,
    endpoint: () => {
      if (emulator === undefined) throw new Error("DynamoDB Local is not running");
      return emulator.endpoint;
    },
    item: async (key: { pk: string; sk: string }) => {
      if (client === undefined) throw new Error("DynamoDB Local is not running");
      const document = DynamoDBDocumentClient.from(client);
      return (await document.send(new GetCommand({ TableName: `floe-${tables}`, Key: key }))).Item;
    },
    putAll: async (items: readonly Record<string, unknown>[]) => {
      if (client === undefined) throw new Error("DynamoDB Local is not running");
      const document = DynamoDBDocumentClient.from(client);
      const batches = Array.from({ length: Math.ceil(items.length / 25) }, (_, i) => items.slice(i * 25, i * 25 + 25));
      for (let i = 0; i < batches.length; i += 8) {
        await Promise.all(
          batches.slice(i, i + 8).map(async (batch) => {
            let requests: BatchWriteCommandInput["RequestItems"] = { [`floe-${tables}`]: batch.map((Item) => ({ PutRequest: { Item } })) };
            while (requests !== undefined && Object.keys(requests).length > 0) {
              requests = (await document.send(new BatchWriteCommand({ RequestItems: requests }))).UnprocessedItems;
            }
          }),
        );
      }
    },
  });
}

/** Options of a store made by {@link LocalStores}. */
export interface StoreOptions {
  readonly retentionDays?: number;
  /** Counts the store's requests and capacity units here. */
  readonly counts?: RequestCounts;
  /** Wraps the document client the store sends through (to inject faults). */
  readonly wrap?: (client: DynamoDBDocumentClient) => DynamoDBDocumentClient;
}

/**
 * Makes stores on fresh tables; `item` reads an item of the newest table as stored, and
 * `putAll` writes items into it as they are (25 a request: for setting up large runs).
 */
export interface LocalStores {
  (options?: StoreOptions): Promise<DynamoDbExecutionStore>;
  item(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined>;
  /** The newest table's name. */
  tableName(): string;
  /** The emulator's endpoint. */
  endpoint(): string;
  putAll(items: readonly Record<string, unknown>[]): Promise<void>;
}
