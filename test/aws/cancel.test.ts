import { describe, expect, it } from "vitest";
import { newRequestCounts } from "../../sdk/aws/request-counter.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { State } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { recordKey } from "../../sdk/aws/dynamodb-execution-store.ts";
import { cancelScenarios } from "../cancel-scenarios.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { withScenarioIds } from "../support/scenario-ids.ts";

const stores = useDynamoDbLocal();
cancelScenarios("DynamoDB Local", async () => withScenarioIds(await stores()));

describe("cancelling a wide run on DynamoDB Local (T23)", () => {
  /** Cancels a root with `width` queued children; returns the requests the cancel made. */
  async function cancelWide(width: number) {
    const counts = newRequestCounts();
    const store = await stores({ counts });
    const api = new Runtime({ store, queue: { send: () => undefined }, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds, inlineFanIn: 8 });
    const spec = { runId: "root", taskName: "t", args: "[]", refs: [], waitOn: [] };
    await api.engine.register({ ...spec, id: "root" });
    const ids = Array.from({ length: width }, (_, i) => cryptoIds.child!("root", `c${i}`));
    await api.engine.register({ ...spec, id: ids[0]!, parentId: "root" });
    // The other children: copies of the first as stored, written in batches.
    const first = (await stores.item(recordKey(ids[0]!)))!;
    await stores.putAll(ids.slice(1).map((id) => ({ ...first, ...recordKey(id), id })));
    counts.requests.clear();
    const started = performance.now();
    await api.cancel(api.reference("root"));
    const ms = performance.now() - started;
    const requests = Object.fromEntries(counts.requests);
    console.info(`cancel of a ${width}-wide run: ${Math.round(ms)} ms, requests ${JSON.stringify(requests)}`);
    const states = await store.getMany(["root", ...ids]);
    expect(states.filter((r) => r?.state !== State.Cancelled)).toEqual([]);
    await api.close();
    return requests;
  }

  it("cancels a 200-wide run in a few requests per execution, with no query per execution", async () => {
    const requests = await cancelWide(200);
    // One update per execution, one read of the target, and the run's two partitions (its
    // root's and the rest's) read once each: one query each, however wide.
    expect(requests).toEqual({ "DynamoDB:BatchGetItem": 1, "DynamoDB:Query": 2, "DynamoDB:UpdateItem": 201 });
  }, 120_000);

  it("cancels a 10,000-wide run with requests linear in its size", async () => {
    const requests = await cancelWide(10_000);
    expect(requests["DynamoDB:UpdateItem"]).toBe(10_001);
    expect(requests["DynamoDB:BatchGetItem"]).toBe(1);
    // A query returns at most 1 MB a page.
    expect(requests["DynamoDB:Query"]).toBeLessThanOrEqual(12);
    expect(Object.keys(requests).sort()).toEqual(["DynamoDB:BatchGetItem", "DynamoDB:Query", "DynamoDB:UpdateItem"]);
  }, 300_000);
});
