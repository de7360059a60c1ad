/**
 * Completion events on the local cloud: the coordinator publishes, with the real
 * EventBridge client to the local `PutEvents` endpoint, one event per run that ends and
 * one per failed execution nothing waits for, and nothing else; a `PutEvents` that fails
 * is retried and loses nothing.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { task, workflow, type Engine } from "floe";
import { startLocalCloud } from "floe/local-cloud";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { startEventsEndpoint, type PublishedEvent } from "../../sdk/local-cloud/events-endpoint.ts";
import { runEventOf, type RunEvent, type RunEventDetail } from "../../sdk/events/run-event.ts";
import { createEventBridgePublisher } from "../../sdk/events/publisher.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue, DynamoDBRecord } from "aws-lambda";
import { createCoordinatorHandler } from "../../functions/coordinator.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import type { ExecutionRecord } from "../../sdk/engine/model.ts";

const emulators = emulatorsForFile();
let cloud: Pick<Engine, "submit" | "close" | "getExecution"> | undefined;
let clouds = 0;

afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
}, 60_000);

const ok = workflow("ev_ok", async (n: number) => n + 1);
const bad = workflow("ev_bad", async () => {
  throw Object.assign(new Error("the card was declined"), { code: "E_DECLINED" });
});
const slow = workflow("ev_slow", async () => 1);
const childOk = task("ev_child_ok", async () => "fine");
const childFails = task("ev_child_fails", async () => {
  throw new Error("the mail server said no");
});
const parent = workflow("ev_parent", async () => {
  // Fire-and-forget: nothing waits for it.
  childFails.submit();
  return childOk.submit().result();
});

/** Gates the test opens: the task behind one finishes only then. */
const gates = new Map<string, () => void>();
const opened = new Map<string, Promise<void>>();
function gate(name: string): () => void {
  opened.set(name, new Promise<void>((resolve) => gates.set(name, resolve)));
  return () => gates.get(name)!();
}
const held = task("ev_held", async (name: string, fails: boolean) => {
  await opened.get(name);
  if (fails) throw Object.assign(new Error("the courier lost it"), { code: "E_LOST" });
  return `${name} done`;
});
const forwards = workflow("ev_forwards", async (name: string, fails: boolean) => held.submit(name, fails));

async function start(extra: Parameters<typeof startLocalCloud>[0] = {}) {
  const events: PublishedEvent[] = [];
  clouds += 1;
  cloud = await startLocalCloud({ endpoints: emulators.endpoints, prefix: `ev${clouds}`, onRunEvent: (e) => events.push(e), ...extra });
  return { cloud, events };
}

const summary = (e: PublishedEvent) => {
  const d = e.detail as RunEventDetail;
  return `${e.detailType} ${d.task} ${d.state}`;
};

describe("completion events on the local cloud", () => {
  it("publishes a completed, a failed and a cancelled run, a failed fire-and-forget child, and nothing for a completed child", async () => {
    const { cloud, events } = await start();
    const done = cloud.submit(ok, 1);
    const failed = cloud.submit(bad);
    const cancelled = cloud.submit(slow);
    await cancelled.cancel();
    const withChildren = cloud.submit(parent);
    expect(await done.result()).toBe(2);
    await failed.result({ raiseOnFailure: false });
    expect(await withChildren.result()).toBe("fine");
    await vi.waitFor(() => expect(events.length).toBeGreaterThanOrEqual(5), { timeout: 20_000, interval: 50 });
    // The stream may deliver a record again; every event is published at least once.
    expect([...new Set(events.map(summary))].sort()).toEqual([
      "Execution Failed ev_child_fails failed",
      "Run Cancelled ev_slow cancelled",
      "Run Completed ev_ok completed",
      "Run Completed ev_parent completed",
      "Run Failed ev_bad failed",
    ]);
    for (const e of events) expect(e).toMatchObject({ source: "floe", busName: "default" });
    const failure = events.find((e) => e.detailType === "Run Failed")!.detail as RunEventDetail;
    expect(failure).toMatchObject({
      eventId: `${failed.id}:failed`,
      workflow: "ev_bad",
      runId: failed.id,
      executionId: failed.id,
      state: "failed",
      error: { name: "Error", message: "the card was declined", code: "E_DECLINED" },
    });
    expect(failure.durationMs).toBe(failure.finishedAt - failure.createdAt);
    const lone = events.find((e) => e.detailType === "Execution Failed")!.detail as RunEventDetail;
    expect(lone.runId).toBe(withChildren.id);
    expect(lone.workflow).toBeUndefined();
    expect(lone.error?.message).toBe("the mail server said no");
  }, 60_000);

  it("announces a forwarding run when the execution it forwards to ends, with that one's state, once", async () => {
    // The coordinator's marks on the executions the roots forward to (see forwarded-run.ts).
    const marks: string[] = [];
    const { cloud, events } = await start({
      instrument: ({ dynamodb }) =>
        dynamodb.middlewareStack.add(
          (next) => async (args) => {
            const input = args.input as { UpdateExpression?: string; ExpressionAttributeValues?: Record<string, unknown>; ExpressionAttributeNames?: Record<string, string> };
            const output = await next(args);
            if (Object.values(input.ExpressionAttributeNames ?? {}).includes("announces")) marks.push(JSON.stringify(input.ExpressionAttributeValues));
            return output;
          },
          { step: "initialize", name: "watchMarks" },
        ),
    });
    const openLater = gate("later");
    const openFails = gate("fails");
    const later = cloud.submit(forwards, "later", false);
    const fails = cloud.submit(forwards, "fails", true);
    // Both roots have completed and the coordinator has seen them, marking their targets;
    // neither run's result is final: nothing is announced.
    await vi.waitFor(() => expect(marks.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 50 });
    for (const run of [later, fails]) expect((await cloud.getExecution(run.id))?.state).toBe("completed");
    expect(events.map(summary)).toEqual([]);
    openLater();
    openFails();
    expect(await later.result()).toBe("later done");
    await expect(fails.result()).rejects.toThrow("the courier lost it");
    await vi.waitFor(() => expect(events.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 50 });
    // The roots' records were handled before: only a redelivery could add an event now.
    expect(events.map(summary).sort()).toEqual(["Run Completed ev_forwards completed", "Run Failed ev_forwards failed"]);
    for (const run of [later, fails]) {
      const detail = events.map((e) => e.detail as RunEventDetail).find((d) => d.runId === run.id)!;
      const target = await cloud.getExecution((await cloud.getExecution(run.id))!.forward!);
      expect(detail).toMatchObject({ executionId: run.id, workflow: "ev_forwards", forwardedTo: target?.id, finishedAt: target?.finishedAt });
      expect(detail.durationMs).toBe(detail.finishedAt - detail.createdAt);
    }
    const failure = events.find((e) => e.detailType === "Run Failed")!.detail as RunEventDetail;
    expect(failure.error).toMatchObject({ message: "the courier lost it", code: "E_LOST" });
  }, 60_000);

  it("sends again the events of a PutEvents that failed, losing none", async () => {
    let refused = 0;
    const { cloud, events } = await start({
      // The first two requests fail outright, as a throttled or unreachable EventBridge would.
      instrument: ({ events: client }) =>
        client?.middlewareStack.add(
          (next) => async (args) => {
            if (refused < 2) {
              refused += 1;
              throw Object.assign(new Error("injected: EventBridge is unavailable"), { $retryable: undefined });
            }
            return next(args);
          },
          { step: "initialize", name: "refusePutEvents" },
        ),
    });
    const done = cloud.submit(ok, 41);
    expect(await done.result()).toBe(42);
    await vi.waitFor(() => expect(events.map(summary)).toContain("Run Completed ev_ok completed"), { timeout: 30_000, interval: 50 });
    expect(refused).toBe(2);
    expect((events[0]!.detail as RunEventDetail).executionId).toBe(done.id);
  }, 60_000);
});

describe("the EventBridge publisher", () => {
  it("sends at most ten entries a request, and sends again the entries a response reports failed", async () => {
    const received: PublishedEvent[] = [];
    const tries = new Map<string, number>();
    let requests = 0;
    const endpoint = await startEventsEndpoint({
      onEvent: (e) => received.push(e),
      // Every third entry fails on its first try, as EventBridge's partial failures do.
      refuse: (e) => {
        const id = (e.detail as RunEventDetail).executionId;
        tries.set(id, (tries.get(id) ?? 0) + 1);
        return Number(id.slice(1)) % 3 === 0 && tries.get(id) === 1;
      },
    });
    const client = new EventBridgeClient({ endpoint: endpoint.url, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    client.middlewareStack.add((next) => (args) => ((requests += 1), next(args)), { step: "initialize", name: "count" });
    try {
      const publish = createEventBridgePublisher({ busName: "runs", client });
      const events = Array.from({ length: 25 }, (_, i) => runEventOf({ id: `e${i}`, runId: `e${i}`, taskName: "w", state: "completed", createdAt: 0, finishedAt: 5 }, 0)!);
      await publish(events);
      expect(received.map((e) => (e.detail as RunEventDetail).executionId).sort()).toEqual(events.map((e) => e.detail.executionId).sort());
      expect(received.every((e) => e.busName === "runs" && e.detailType === "Run Completed")).toBe(true);
      // Three batches (10, 10, 5), each with failed entries sent once more.
      expect(requests).toBe(6);
    } finally {
      client.destroy();
      await endpoint.close();
    }
  });

  it("throws, naming the count, when entries keep failing", async () => {
    const endpoint = await startEventsEndpoint({ onEvent: () => undefined, refuse: () => true });
    const client = new EventBridgeClient({ endpoint: endpoint.url, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    try {
      const publish = createEventBridgePublisher({ busName: "runs", client, retries: 2 });
      const event = runEventOf({ id: "r", runId: "r", taskName: "w", state: "failed", createdAt: 0, finishedAt: 1 }, 0)!;
      await expect(publish([event])).rejects.toThrow(/refused 1 of 1 events after 3 tries/);
    } finally {
      client.destroy();
      await endpoint.close();
    }
  });
});

describe("which transitions make an event", () => {
  const base = { runId: "root", taskName: "t", createdAt: 10, finishedAt: 30 } as const;
  it("makes run events for roots, and Execution Failed only for a failed child with no link out", () => {
    expect(runEventOf({ ...base, id: "root", state: "cancelled" }, 3)?.detailType).toBe("Run Cancelled");
    expect(runEventOf({ ...base, id: "root~c", state: "failed" }, 0)?.detailType).toBe("Execution Failed");
    expect(runEventOf({ ...base, id: "root~c", state: "failed" }, 1)).toBeUndefined();
    expect(runEventOf({ ...base, id: "root~c", state: "completed" }, 0)).toBeUndefined();
    expect(runEventOf({ ...base, id: "root~c", state: "cancelled" }, 0)).toBeUndefined();
    expect(runEventOf({ ...base, id: "root", state: "running" }, 0)).toBeUndefined();
    expect(runEventOf({ ...base, id: "root", state: "completed" }, 0)?.detail.durationMs).toBe(20);
  });
});

describe("the coordinator on a forwarding run", () => {
  const record = (id: string, state: ExecutionRecord["state"], extra: Partial<ExecutionRecord> = {}): ExecutionRecord => ({
    id, runId: "root", taskName: id === "root" ? "w" : "t", args: { inline: "[]" }, state, attempt: 1, generation: 0,
    pending: 0, guarded: false, waitMode: "all", createdAt: 10, history: [], ...extra,
  });
  /** A stream record of `id` entering its state now, as the table's stream gives it. */
  const finished = (store: MemoryExecutionStore, id: string, sequence: string): DynamoDBRecord => ({
    eventName: "MODIFY",
    dynamodb: {
      SequenceNumber: sequence,
      NewImage: marshall({ ...store.get(id)!, type: "execution" }, { removeUndefinedValues: true }) as Record<string, AttributeValue>,
      OldImage: { state: { S: "running" } },
    },
  });

  it("announces the run from the stream record of its chain's end, and retries from a record whose chain cannot be read", async () => {
    const store = new MemoryExecutionStore();
    store.create(record("root", "completed", { forward: "x", finishedAt: 20, result: { inline: "0" } }));
    store.create(record("x", "running"));
    store.create(record("other", "completed", { runId: "other", finishedAt: 15, result: { inline: "1" } }));
    const published: RunEvent[] = [];
    let unreadable = "";
    const get = (id: string) => (id === unreadable ? Promise.reject(new Error("the table is unreachable")) : store.get(id));
    const coordinator = createCoordinatorHandler({
      engine: { store: { get, update: (...args) => store.update(...args) }, releaseDependents: () => undefined },
      publish: async (events) => void published.push(...events),
      log: () => undefined,
    });
    // The root's record: its target runs, so it is marked and nothing is published.
    expect(await coordinator({ Records: [finished(store, "root", "1")] })).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([]);
    expect(store.get("x")).toMatchObject({ announces: "root" });
    // The target's end, behind a record of another run; its chain's read fails: the other
    // run is published, and the batch is retried from the target's record.
    store.update("x", {}, { state: "completed", finishedAt: 30, result: { inline: "2" } });
    const batch = { Records: [finished(store, "other", "2"), finished(store, "x", "3")] };
    unreadable = "root";
    expect(await coordinator(batch)).toEqual({ batchItemFailures: [{ itemIdentifier: "3" }] });
    expect(published.map((e) => `${e.detailType} ${e.detail.executionId}`)).toEqual(["Run Completed other"]);
    unreadable = "";
    expect(await coordinator({ Records: [finished(store, "x", "3")] })).toEqual({ batchItemFailures: [] });
    expect(published.map((e) => `${e.detailType} ${e.detail.executionId} ${e.detail.forwardedTo ?? ""} ${e.detail.durationMs}`)).toEqual([
      "Run Completed other  5",
      "Run Completed root x 20",
    ]);
  });
});
