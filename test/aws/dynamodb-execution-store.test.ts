import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { DynamoDbExecutionStore, executionTableDefinition } from "../../sdk/aws/dynamodb-execution-store.ts";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../sdk/local-cloud/dynamodb-local.ts";
import { engineScenarios } from "../engine-scenarios.ts";

let emulator: DynamoDbLocal;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  emulator = await startDynamoDbLocal();
  client = new DynamoDBClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
});

// A fresh table per scenario, on the real emulator: no SDK call is mocked.
engineScenarios("DynamoDB Local", async () => {
  tables += 1;
  const tableName = `floe-${tables}`;
  await client.send(new CreateTableCommand(executionTableDefinition(tableName)));
  const document = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return new DynamoDbExecutionStore({ client: document, tableName });
});
