/** T19 on DynamoDB Local: fewer runs than on the in-memory store, the same scenarios. */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { DynamoDbExecutionStore, executionTableDefinition } from "../../sdk/aws/dynamodb-execution-store.ts";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../sdk/local-cloud/dynamodb-local.ts";
import { dagArb, runScenario, stepArb } from "../model/scenario.ts";

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

describe("model-based reliability on DynamoDB Local (T19)", () => {
  it("keeps every safety property and reaches the model's results", async () => {
    await fc.assert(
      fc.asyncProperty(dagArb, fc.array(stepArb, { maxLength: 60 }), (dag, steps) =>
        runScenario(dag, steps, async () => {
          tables += 1;
          const tableName = `model-${tables}`;
          await client.send(new CreateTableCommand(executionTableDefinition(tableName)));
          return new DynamoDbExecutionStore({
            client: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
            tableName,
          });
        }),
      ),
      { numRuns: 12 },
    );
  }, 240_000);
});
