/** T19 on DynamoDB Local: fewer runs than on the in-memory store, the same scenarios. */
import fc from "fast-check";
import { describe, it } from "vitest";
import { dagArb, runScenario, stepArb } from "../model/scenario.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";

const store = useDynamoDbLocal();

describe("model-based reliability on DynamoDB Local (T19)", () => {
  it("keeps every safety property and reaches the model's results", async () => {
    await fc.assert(
      fc.asyncProperty(dagArb, fc.array(stepArb, { maxLength: 60 }), (dag, steps) => runScenario(dag, steps, store)),
      { numRuns: 12 },
    );
  }, 240_000);
});
