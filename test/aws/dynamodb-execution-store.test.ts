import { describe, expect, it } from "vitest";
import { EdgeKind, State, WaitMode } from "../../sdk/engine/model.ts";
import { engineScenarios } from "../engine-scenarios.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";

// A fresh table per scenario, on the real emulator: no SDK call is mocked.
const stores = useDynamoDbLocal();
engineScenarios("DynamoDB Local", stores);

describe("DynamoDbExecutionStore retention", () => {
  it("writes the expiresAt TTL on records and edges when a retention is set, and keeps it out of records read", async () => {
    const store = await stores({ retentionDays: 30 });
    const record = {
      id: "r", runId: "r", taskName: "t", args: { inline: "J[]" }, state: State.Queued, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: 1_700_000_000_123, history: [],
    };
    expect(await store.create(record)).toBe(true);
    const edge = { upstreamId: "r", downstreamId: "d", runId: "r", kind: EdgeKind.Argument, waits: true, generation: 1, released: false, createdAt: 1_700_000_000_999 };
    await store.addEdges([edge]);
    const expiresAt = 1_700_000_000 + 30 * 86_400;
    expect((await stores.item({ pk: "X#r", sk: "X" }))?.expiresAt).toBe(expiresAt);
    expect((await stores.item({ pk: "X#r", sk: "D#d#argument#1" }))?.expiresAt).toBe(expiresAt);
    expect(await store.get("r")).not.toHaveProperty("expiresAt");
  });

  it("writes no expiry without a retention", async () => {
    const store = await stores();
    await store.create({
      id: "k", runId: "k", taskName: "t", args: { inline: "J[]" }, state: State.Queued, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: 1, history: [],
    });
    expect(await stores.item({ pk: "X#k", sk: "X" })).not.toHaveProperty("expiresAt");
  });
});
