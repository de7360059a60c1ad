/** T19 on DynamoDB Local: fewer runs than on the in-memory store, the same scenarios, limited ones included. */
import fc from "fast-check";
import { describe, it } from "vitest";
import { dagArb, limitedStepArb, runScenario, stepArb, type ModelLimit } from "../model/scenario.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";

const store = useDynamoDbLocal();

describe("model-based reliability on DynamoDB Local (T19)", () => {
  it("keeps every safety property and reaches the model's results", async () => {
    await fc.assert(
      fc.asyncProperty(dagArb, fc.array(stepArb, { maxLength: 60 }), (dag, steps) => runScenario(dag, steps, store)),
      { numRuns: 12 },
    );
  }, 240_000);

  it("never runs more executions of a key than its concurrency limit, and frees every slot, on DynamoDB's counters", async () => {
    await fc.assert(
      fc.asyncProperty(dagArb, fc.constantFrom<ModelLimit>(1, 2), fc.array(limitedStepArb, { maxLength: 60 }), fc.nat(), (dag, limit, steps, seed) =>
        runScenario(dag, steps, store, { limit, seed, jitter: true }),
      ),
      { numRuns: 10 },
    );
  }, 240_000);

  it("never starts more executions of a key than its rate limit gave, on DynamoDB's window counts", async () => {
    await fc.assert(
      fc.asyncProperty(
        dagArb,
        fc.constantFrom<ModelLimit>(1, 2),
        fc.constantFrom<ModelLimit | undefined>(undefined, 1),
        fc.array(limitedStepArb, { maxLength: 60 }),
        fc.nat(),
        (dag, rate, limit, steps, seed) => runScenario(dag, steps, store, { rate, limit, seed, jitter: true }),
      ),
      { numRuns: 8 },
    );
  }, 240_000);
});
