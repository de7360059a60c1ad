/**
 * Keyed starts on DynamoDB Local (T15, T22), and where their idempotency records live: an
 * item of their own that no run, listing, index or stream filter sees.
 */
import { describe, expect, it } from "vitest";
import { finishedIn } from "../../functions/coordinator.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { keyedEcho, keyedStartScenarios } from "../keyed-start-scenarios.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";

const stores = useDynamoDbLocal();
keyedStartScenarios("DynamoDB Local", () => stores());

describe("idempotency records on DynamoDB", () => {
  it("are items of their own, with an expiry, outside every run, listing and index, ignored by the coordinator", async () => {
    const store = await stores({ retentionDays: 7 });
    const runtime = new Runtime({ store, queue: { send: () => undefined }, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds });
    const caller = "iam:arn:aws:iam::1:user/ada";
    const { id } = await runtime.submitKeyed(keyedEcho.definition, ["x"], { key: "order-1", caller });
    const key = cryptoIds.derive(["idempotency-key", JSON.stringify([caller, "keyed_echo", "order-1"])]);
    const item = await stores.item({ pk: `K#${key}`, sk: "K" });
    expect(item).toMatchObject({ type: "idempotency", executionId: id, expiresAt: expect.any(Number) });
    for (const indexed of ["run", "rsk", "rootTask", "root"]) expect(item).not.toHaveProperty(indexed);
    expect((await store.runs({})).map((r) => r.id)).toEqual([id]);
    expect((await store.runs({ taskName: "keyed_echo" })).map((r) => r.id)).toEqual([id]);
    expect((await store.run(id))?.executions.map((e) => e.id)).toEqual([id]);
    expect(await store.get(key)).toBeUndefined();
    const image = Object.fromEntries(Object.entries(item ?? {}).map(([name, value]) => [name, typeof value === "number" ? { N: String(value) } : { S: String(value) }]));
    expect(finishedIn({ eventName: "INSERT", dynamodb: { NewImage: image } })).toBeUndefined();
  });
});
