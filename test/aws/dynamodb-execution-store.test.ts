import { describe, expect, it } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue } from "aws-lambda";
import { createCoordinatorHandler } from "../../functions/coordinator.ts";
import { DynamoDbExecutionStore, recordKey } from "../../sdk/aws/dynamodb-execution-store.ts";
import { countRequests } from "../../sdk/aws/request-counter.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { ExecutionEngine } from "../../sdk/engine/execution-engine.ts";
import type { ExecutionStore } from "../../sdk/engine/ports.ts";
import { EdgeKind, State, WaitMode } from "../../sdk/engine/model.ts";
import { engineScenarios } from "../engine-scenarios.ts";
import { failureScenarios } from "../failure-scenarios.ts";
import { runListingScenarios } from "../run-listing-scenarios.ts";
import { newRequestCounts } from "../../sdk/aws/request-counter.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { withScenarioIds } from "../support/scenario-ids.ts";
import { LINKS_ON_RECORD } from "../../sdk/aws/links.ts";
import { cryptoIds, familyOf, systemClock } from "../../sdk/runtime/system.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { handleRequest } from "../../sdk/http/routes.ts";

// A fresh table per scenario, on the real emulator: no SDK call is mocked.
const stores = useDynamoDbLocal();
engineScenarios("DynamoDB Local", async () => withScenarioIds(await stores()));
failureScenarios("DynamoDB Local", async () => withScenarioIds(await stores()));
runListingScenarios("DynamoDB Local (the byStart and byWorkflow indexes)", () => stores());

describe("DynamoDbExecutionStore retention", () => {
  it("writes the expiresAt TTL on records and link items when a retention is set, and keeps it out of records read", async () => {
    const store = await stores({ retentionDays: 30 });
    const record = {
      id: "r", runId: "r", taskName: "t", args: { inline: "J[]" }, state: State.Queued, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: 1_700_000_000_123, history: [],
    };
    expect(await store.create(record)).toBe(true);
    // More links than a record holds: the rest are items of their own, which expire too.
    const edges = Array.from({ length: LINKS_ON_RECORD + 1 }, (_, slot) => ({
      upstreamId: "r", downstreamId: `d${slot}`, runId: "r", kind: EdgeKind.Argument, waits: true, generation: 1, slot, released: false, createdAt: 1_700_000_000_999,
    }));
    await store.addEdges(edges.slice(0, LINKS_ON_RECORD));
    await store.addEdges(edges.slice(LINKS_ON_RECORD));
    const expiresAt = 1_700_000_000 + 30 * 86_400;
    expect((await stores.item({ pk: "X#r", sk: "X" }))?.expiresAt).toBe(expiresAt);
    expect((await stores.item({ pk: "X#r", sk: `L#r#d${LINKS_ON_RECORD}|a|1` }))?.expiresAt).toBe(expiresAt);
    expect(await store.get("r")).not.toHaveProperty("expiresAt");
    expect((await store.edgesFrom("r")).map((e) => e.downstreamId).sort()).toEqual(edges.map((e) => e.downstreamId).sort());
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

describe("DynamoDbExecutionStore's queued executions (the byQueued index)", () => {
  it("lists roots queued at their creation by when they became due, and drops them once they leave queued", async () => {
    const store = await stores();
    // Roots only: a lost message below a root is repaired by a redelivery.
    const base = {
      taskName: "t", args: { inline: "J[]" }, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: 100, history: [],
    };
    // Ids ending in different characters land in different shards of the index.
    await store.create({ ...base, id: "a1", runId: "a1", state: State.Queued, queuedAt: 100 });
    await store.create({ ...base, id: "b2", runId: "b2", state: State.Queued, queuedAt: 200 });
    await store.create({ ...base, id: "c3", runId: "c3", state: State.Waiting, pending: 1, guarded: true });
    await store.create({ ...base, id: "d4", runId: "d4", state: State.Queued, queuedAt: 100 });
    const ids = async (dueBefore: number, dueAfter?: number) =>
      (await store.queued({ dueBefore, limit: 10, ...(dueAfter === undefined ? {} : { dueAfter }) })).map((r) => r.id).sort();
    expect(await ids(150)).toEqual(["a1", "d4"]);
    expect(await ids(250)).toEqual(["a1", "b2", "d4"]);
    expect(await ids(250, 150)).toEqual(["b2"]);
    // Claimed: it leaves the index, and a retry does not come back to it (the redelivery of
    // the message whose handler wrote it repairs a lost send).
    await store.update("a1", { state: State.Queued }, { state: State.Running, startedAt: 300 });
    await store.update("a1", { state: State.Running }, { state: State.Queued, attempt: 2, queuedAt: 300, notBefore: 5_000 });
    await store.update("d4", { state: State.Queued }, { state: State.Running, startedAt: 300 });
    expect(await ids(5_000)).toEqual(["b2"]);
    expect(await store.get("a1")).not.toHaveProperty("qs");
    // An execution below a root is never in the index.
    await store.create({ ...base, id: `${familyOf("b2")}~child`, runId: "b2", parentId: "b2", state: State.Queued, queuedAt: 100 });
    expect(await ids(5_000)).toEqual(["b2"]);
  });
});

describe("request counting on DynamoDB Local", () => {
  it("counts capacity as billed: index writes included once, a failed condition one unit, an empty read its minimum", async () => {
    const counts = newRequestCounts();
    const store = await stores({ counts });
    const record = {
      id: "c", runId: "c", taskName: "t", args: { inline: "J[]" }, state: State.Queued, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: 1, history: [],
    };
    // A queued root: the table, and the byWorkflow, byStart and byQueued indexes.
    expect(await store.create(record)).toBe(true);
    expect([counts.writeUnits, counts.indexWriteUnits]).toEqual([4, 3]);
    // Claimed, it leaves the sparse byQueued index; the other index keys do not change, and
    // the indexes project keys only: the table and that one index.
    await store.update("c", { state: State.Queued }, { state: State.Running, startedAt: 2 });
    expect([counts.writeUnits, counts.indexWriteUnits]).toEqual([6, 4]);
    // No longer queued: a change of state writes the table alone.
    await store.update("c", { state: State.Running }, { state: State.Completed, finishedAt: 3 });
    expect([counts.writeUnits, counts.indexWriteUnits]).toEqual([7, 4]);
    // The condition fails: no capacity is reported, but DynamoDB bills one unit.
    expect(await store.create(record)).toBe(false);
    expect([counts.writeUnits, counts.failedConditions]).toEqual([8, 1]);
    expect(counts.units.get("DynamoDB:PutItem")).toBe(5);
    expect(counts.requests.get("DynamoDB:PutItem")).toBe(2);
    // An execution below the root: the table alone, no index.
    const child = (name: string) => `${familyOf("c")}~${name}`;
    const before = counts.writeUnits;
    await store.create({ ...record, id: child("d"), parentId: "c", state: State.Waiting, pending: 1 });
    expect(counts.writeUnits - before).toBe(1);
    // A link is an update of its upstream; a release one update of its downstream.
    const edge = { upstreamId: "c", downstreamId: child("d"), runId: "c", kind: EdgeKind.Argument, waits: true, generation: 1, slot: 0, released: false, createdAt: 1 };
    await store.addEdges([edge]);
    expect(counts.writeUnits - before).toBe(2);
    expect((await store.release([edge]))?.decremented).toBe(true);
    expect(counts.writeUnits - before).toBe(3);
    // Released again: the condition fails (one unit billed) and nothing is counted twice.
    expect((await store.release([edge]))?.decremented).toBe(false);
    expect(counts.writeUnits - before).toBe(4);
    // Five edges into one downstream: one write.
    await store.create({ ...record, id: child("w"), parentId: "c", state: State.Waiting, pending: 5 });
    const into = ["u1", "u2", "u3", "u4", "u5"].map((name, slot) => ({ ...edge, upstreamId: child(name), downstreamId: child("w"), fanIn: 5, slot }));
    const units = counts.writeUnits;
    expect((await store.release(into))?.downstream.pending).toBe(0);
    expect(counts.writeUnits - units).toBe(1);
    // A group as wide as the engine makes (99): one write, every slot in its condition.
    await store.create({ ...record, id: child("j"), parentId: "c", state: State.Waiting, pending: 99, guarded: false });
    const wide = Array.from({ length: 99 }, (_, slot) => ({ ...edge, upstreamId: child(`w${slot}`), downstreamId: child("j"), fanIn: 99, slot }));
    const updates = counts.requests.get("DynamoDB:UpdateItem") ?? 0;
    expect((await store.release(wide))?.downstream.pending).toBe(0);
    expect((counts.requests.get("DynamoDB:UpdateItem") ?? 0) - updates).toBe(1);
    // The whole wait of one downstream, asked to queue: counted and queued in one write.
    await store.create({ ...record, id: child("q"), parentId: "c", state: State.Suspended, pending: 1, guarded: false, attempt: 3 });
    const one = { ...edge, downstreamId: child("q"), fanIn: 1, slot: 0, attempt: 3 };
    const before2 = counts.writeUnits;
    const queued = await store.release([one], { queueAt: 50 });
    expect(queued).toMatchObject({ queued: true, downstream: { state: State.Queued, pending: 0, queuedAt: 50 } });
    expect(queued?.downstream.history.at(-1)).toEqual({ state: State.Queued, at: 50, attempt: 3 });
    expect(counts.writeUnits - before2).toBe(1);
    // A strongly consistent read of nothing still costs one read unit.
    const reads = counts.readUnits;
    expect(await store.get("absent")).toBeUndefined();
    expect(await store.edgesFrom("absent")).toEqual([]);
    expect(counts.readUnits - reads).toBe(2);
  });
});

describe("failed attempts on DynamoDB Local", () => {
  it("writes each failure with the retry's update, one request, and keeps the item within a few write units", async () => {
    const counts = newRequestCounts();
    const store = await stores({ counts });
    let now = 1_000;
    const engine = new ExecutionEngine({
      store,
      queue: { send: () => undefined },
      blobs: new MemoryBlobStore(),
      clock: { now: () => (now += 1), schedule: () => () => undefined },
      policy: {
        retryDelayMs: () => 0,
        encodeError: (e) => JSON.stringify({ name: (e as Error).name, message: (e as Error).message, stack: (e as Error).stack }),
        errorFields: (text) => JSON.parse(text) as { name: string; message: string },
      },
      blobThreshold: 32_768,
    });
    await engine.register({ id: "f", runId: "f", taskName: "t", args: "[]", refs: [], waitOn: [] });
    // A usual stack: ten frames of a bundled handler.
    const stack = ["Error: 503 from gateway", ...Array.from({ length: 10 }, (_, i) => `    at handler${i} (/var/task/index.mjs:${1000 + i}:17)`)].join("\n");
    const units: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const claimed = await engine.claim({ executionId: "f", taskName: "t", attempt });
      Object.assign(counts, newRequestCounts());
      await engine.finish(claimed!, { type: "failed", error: Object.assign(new Error("503 from gateway"), { stack }) });
      expect(Object.fromEntries(counts.requests)).toEqual({ "DynamoDB:UpdateItem": 1 });
      units.push(counts.writeUnits);
    }
    const record = await store.get("f");
    expect(record?.failures).toHaveLength(5);
    expect(record?.earlierFailures).toBe(3);
    // Five kept failures and the latest error in full: a few KB, not growing past the fifth.
    expect(Math.max(...units)).toBeLessThanOrEqual(4);
    expect(units.at(-1)).toBe(units.at(-3));
  });
});

describe("the HTTP API over the DynamoDB store", () => {
  it("lists runs by state page after page with its cursors, and shows failed attempts read back from the table", async () => {
    const store = await stores();
    const runtime = new Runtime({ store, queue: { send: () => undefined }, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds });
    const get = async (path: string, query: Record<string, string> = {}, errorStacks = false) =>
      (await handleRequest(runtime, { method: "GET", path, query, headers: {}, body: undefined, caller: "local" }, { errorStacks })) as { status: number; body: any };
    const failures = [1, 2].map((attempt) => ({
      attempt, startedAt: 1_000 * attempt, finishedAt: 1_000 * attempt + 500,
      error: { name: "Error", message: `failure ${attempt}`, code: "E_GATEWAY", stack: `Error: failure ${attempt}\n    at handler (index.mjs:1:1)` },
    }));
    // 120 runs, one in ten failed: a page of failed runs reads past a batch read's worth.
    for (let i = 0; i < 120; i += 1) {
      const state = i % 10 === 0 ? State.Failed : State.Completed;
      await store.create({
        id: `r${i}`, runId: `r${i}`, taskName: i % 20 === 0 ? "w_even" : "w", args: { inline: "J[]" }, state, attempt: 3, generation: 1,
        pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: 10_000 + i, history: [], ...(state === State.Failed ? { failures, earlierFailures: 4 } : {}),
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await get("/runs", { state: "failed", limit: "5", ...(cursor === undefined ? {} : { cursor }) });
      expect(page.status).toBe(200);
      seen.push(...page.body.runs.map((r: { id: string }) => r.id));
      cursor = page.body.cursor;
    } while (cursor !== undefined && seen.length < 100);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `r${110 - 10 * i}`));
    expect((await get("/runs", { workflow: "w_even", state: "failed", limit: "100" })).body.runs).toHaveLength(6);
    expect((await get("/runs", { workflow: "w", state: "failed", limit: "100" })).body.runs).toHaveLength(6);
    expect((await get("/runs", { workflow: "w", state: "running" })).body).toEqual({ runs: [] });
    const viewed = (await get("/executions/r50")).body;
    expect(viewed.failures).toEqual(failures.map(({ error: { stack: _stack, ...error }, ...failure }) => ({ ...failure, error })));
    expect(viewed.earlierFailures).toBe(4);
    expect((await get("/runs/r50", {}, true)).body.executions[0].failures).toEqual(failures);
  });
});

describe("the coordinator on DynamoDB Local", () => {
  it("releases from the links in the stream's image of a finished execution, reading no record", async () => {
    const worker = await stores();
    const counts = newRequestCounts();
    // The coordinator's own store: nothing of the worker's writes is known to it.
    const base = new DynamoDBClient({ endpoint: stores.endpoint(), region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    countRequests({ dynamodb: base }, counts);
    const coordinatorStore = new DynamoDbExecutionStore({ client: DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } }), tableName: stores.tableName() });
    let now = 1_000;
    const sent: string[] = [];
    const engineOver = (store: ExecutionStore) =>
      new ExecutionEngine({
        store,
        queue: { send: (messages) => void sent.push(...messages.map((m) => m.executionId)) },
        blobs: new MemoryBlobStore(),
        clock: { now: () => (now += 1), schedule: () => () => undefined },
        policy: { retryDelayMs: () => undefined, encodeError: String },
        blobThreshold: 1_000,
        // The worker leaves every release to the coordinator.
        inlineFanIn: 0,
      });
    const engine = engineOver(worker);
    const downstream = `${familyOf("up")}~down`;
    await engine.register({ id: "up", runId: "up", taskName: "t", args: "[]", refs: [], waitOn: [] });
    await engine.register({ id: downstream, runId: "up", parentId: "up", taskName: "t", args: "[]", refs: ["up"], waitOn: ["up"] });
    const claimed = await engine.claim({ executionId: "up", taskName: "t", attempt: 1 });
    await engine.finish(claimed!, { type: "completed", result: "1" });
    expect((await worker.get(downstream))?.state).toBe(State.Waiting);
    const image = marshall(await stores.item(recordKey("up")), { removeUndefinedValues: true }) as Record<string, AttributeValue>;
    const coordinator = createCoordinatorHandler({ engine: engineOver(coordinatorStore) });
    await coordinator({ Records: [{ dynamodb: { SequenceNumber: "1", NewImage: image, OldImage: { state: { S: "running" } } } }] });
    expect((await worker.get(downstream))?.state).toBe(State.Queued);
    expect(sent).toContain(downstream);
    // The release and the queue write, in one update; no read for the links.
    expect(Object.fromEntries(counts.requests)).toEqual({ "DynamoDB:UpdateItem": 1 });
    base.destroy();
  });
});
