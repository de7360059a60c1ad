/**
 * The Lambda handlers over a real runtime on the in-memory adapters, with faults injected
 * into the store: partial batch failures (T9), malformed and dead-lettered messages (T10),
 * crashes around the completion write (T2, T3, T5), a Lambda timeout (T12), fan-out and
 * fan-in of 10,000 (T7, T6) and duplicate or replayed stream
 * records (T18).
 */
import type { DynamoDBRecord, SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createCoordinatorHandler } from "../../functions/coordinator.ts";
import { createDeadLetterHandler } from "../../functions/dead-letter.ts";
import { createWorkerHandler } from "../../functions/worker.ts";
import { createReconcilerHandler } from "../../functions/reconciler.ts";
import type { TaskQueue } from "../../sdk/engine/ports.ts";
import { task, type Execution } from "floe";
import { encodeMessage } from "../../sdk/aws/sqs-task-queue.ts";
import { sqsEvent, sqsRecord } from "../support/sqs-event.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { State, type TaskMessage } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { FaultyStore } from "./faulty-store.ts";
import { takeAll } from "../support/take-all.ts";

let bodyRuns = 0;
const work = task("h_work", async (n: number) => {
  bodyRuns += 1;
  return n * 10;
});
const join = task("h_join", { wait: true }, async (xs: Execution<number>[]) =>
  (await Promise.all(xs.map((x) => x.result()))).reduce((a, b) => a + b, 0),
);
const after = task("h_after", { wait: true }, async (upstream: Execution<number>) =>
  upstream.result({ raiseOnFailure: false }).then((r) => (r instanceof Error ? `saw ${(r as Error & { code?: string }).code}` : r)),
);

const fanOutAndJoin = task("h_fan_out_join", async (n: number) => join.submit(Array.from({ length: n }, (_, i) => identity.submit(i))));
const identity = task("h_identity", async (i: number) => i);

let releaseFirst: () => void = () => undefined;
let hangCalls = 0;
/** Its first attempt hangs (until released), as a Lambda that reaches its timeout. */
const hangsFirst = task("h_hangs_first", async (name: string) => {
  hangCalls += 1;
  const call = hangCalls;
  if (call === 1) await new Promise<void>((resolve) => (releaseFirst = resolve));
  return `attempt ${call} of ${name}`;
});

/** A runtime whose queue is drained by hand, as the event source would, into SQS events. */
function harness(takeOverAfterMs?: number, inlineFanIn?: number) {
  const store = new FaultyStore(new MemoryExecutionStore());
  const queue = new MemoryTaskQueue(systemClock);
  const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds, takeOverAfterMs, inlineFanIn });
  const logs: string[] = [];
  const worker = createWorkerHandler({ runtime, log: (m) => logs.push(m) });
  // The faulty store answers with promises, so submissions land a turn later.
  const take = async (): Promise<TaskMessage[]> => {
    await settle();
    return takeAll(queue);
  };
  return { store, runtime, worker, take, logs };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("worker handler", () => {
  it("reports exactly the messages whose processing failed as batch item failures (T9)", async () => {
    const { store, runtime, worker, take } = harness();
    const executions = Array.from({ length: 10 }, (_, i) => runtime.submit(work, i));
    const messages = (await take());
    const failing = [1, 4, 7].map((i) => executions[i]!.id);
    for (const id of failing) store.inject({ method: "update", id, mode: "before", times: 1 });
    const response = await worker(sqsEvent(messages));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(failing.map((id) => `msg-${id}`).sort());
    // The event source delivers the three again: they complete.
    const again = messages.filter((m) => failing.includes(m.executionId));
    expect((await worker(sqsEvent(again, 2))).batchItemFailures).toEqual([]);
    expect(await Promise.all(executions.map((e) => e.result()))).toEqual(Array.from({ length: 10 }, (_, i) => i * 10));
  });

  it("acknowledges malformed bodies and schema violations without blocking the batch (T10)", async () => {
    const { runtime, worker, take, logs } = harness();
    const execution = runtime.submit(work, 5);
    const [message] = (await take());
    const event: SQSEvent = {
      Records: [
        sqsRecord("{not json", "bad-json"),
        sqsRecord(JSON.stringify({ executionId: 42 }), "bad-schema"),
        sqsRecord(encodeMessage(message!), "good"),
      ],
    };
    expect((await worker(event)).batchItemFailures).toEqual([]);
    expect(await execution.result()).toBe(50);
    expect(logs.join("\n")).toMatch(/bad-json.*must be JSON/);
    expect(logs.join("\n")).toMatch(/bad-schema.*executionId/);
  });

  it("runs the body again after a crash before the completion write; the result is recorded once (T2)", async () => {
    // The redelivery comes after the visibility timeout, here 0 ms.
    const { store, runtime, worker, take } = harness(0);
    const upstream = runtime.submit(work, 3);
    const downstream = runtime.submit(after, upstream);
    const [message] = (await take());
    bodyRuns = 0;
    // The completion write fails: the message is reported and comes back.
    store.inject({ method: "update", id: upstream.id, toState: State.Completed, mode: "before", times: 1 });
    expect((await worker(sqsEvent([message!]))).batchItemFailures).toHaveLength(1);
    expect(await upstream.state()).toBe(State.Running);
    // The record still says running: the redelivery takes over with a new attempt.
    expect((await worker(sqsEvent([message!], 2))).batchItemFailures).toEqual([]);
    expect(await upstream.result()).toBe(30);
    expect(bodyRuns).toBe(2);
    expect((await runtime.getExecution(upstream.id))?.history.map((h) => `${h.state}:${h.attempt}`)).toEqual([
      "queued:1",
      "running:1",
      "running:2",
      "completed:2",
    ]);
    const [next] = (await take());
    expect(next?.executionId).toBe(downstream.id);
    expect((await take())).toEqual([]);
  });

  it("lets only the current attempt commit when a task outlives its visibility timeout (T11)", async () => {
    const { runtime, take } = harness(0);
    const execution = runtime.submit(work, 4);
    const [message] = await take();
    const first = { ...(await runtime.engine.claim(message!, 0))! };
    // The first worker is still busy when the message comes back: a second attempt starts.
    const second = await runtime.engine.claim(message!, 0);
    expect(second?.attempt).toBe(2);
    await runtime.engine.finish(first, { type: "completed", result: "J1" });
    expect(await execution.state()).toBe(State.Running);
    await runtime.engine.finish(second!, { type: "completed", result: "J2" });
    expect(await execution.result()).toBe(2);
  });

  it("takes over from an invocation that hit the Lambda timeout, and the dead attempt can never commit (T12)", async () => {
    const { runtime, worker, take } = harness(0);
    const execution = runtime.submit(hangsFirst, "x");
    const [message] = await take();
    // The first invocation never returns: Lambda ends it at its timeout, and the message
    // comes back after the visibility timeout.
    void worker(sqsEvent([message!]));
    await settle();
    expect(await execution.state()).toBe(State.Running);
    expect((await worker(sqsEvent([message!], 2))).batchItemFailures).toEqual([]);
    expect(await execution.result()).toBe("attempt 2 of x");
    expect((await runtime.getExecution(execution.id))?.attempt).toBe(2);
    // Had the first process lived on, its late result could not overwrite the second's.
    releaseFirst();
    await settle();
    expect(await execution.result()).toBe("attempt 2 of x");
  });

  it("starts nothing for a duplicate delivery while the attempt is within its visibility timeout, and keeps the message", async () => {
    const { runtime, take } = harness(60_000);
    const execution = runtime.submit(work, 4);
    const [message] = await take();
    expect(await runtime.engine.claim(message!, 60_000)).toBeDefined();
    // Failed, not dropped: the message must come back to take over if this attempt dies.
    await expect(runtime.engine.claim(message!, 60_000)).rejects.toThrow(/is running attempt 1/);
    const record = await runtime.getExecution(execution.id);
    expect(record).toMatchObject({ state: State.Running, attempt: 1 });
    expect(record?.history.filter((h) => h.state === State.Running)).toHaveLength(1);
  });

  it("treats the redelivery of a message whose completion committed as a no-op (T3)", async () => {
    const { runtime, worker, take } = harness();
    const execution = runtime.submit(work, 2);
    const [message] = (await take());
    await worker(sqsEvent([message!]));
    bodyRuns = 0;
    expect((await worker(sqsEvent([message!], 2))).batchItemFailures).toEqual([]);
    expect(bodyRuns).toBe(0);
    expect(await execution.result()).toBe(20);
  });

  it("still starts the downstream, once, after a crash between the decrement to zero and the enqueue (T4)", async () => {
    const { store, runtime, worker, take } = harness();
    const upstream = runtime.submit(work, 1);
    const downstream = runtime.submit(after, upstream);
    const [message] = await take();
    store.inject({ method: "update", id: downstream.id, toState: State.Queued, mode: "before", times: 1 });
    expect((await worker(sqsEvent([message!]))).batchItemFailures).toHaveLength(1);
    expect(await runtime.getExecution(downstream.id)).toMatchObject({ state: State.Waiting, pending: 0 });
    // The coordinator's backstop, run twice (a replayed stream record): queued exactly once.
    const coordinator = createCoordinatorHandler({ engine: runtime.engine });
    const record: DynamoDBRecord = {
      eventName: "MODIFY",
      dynamodb: {
        SequenceNumber: "1",
        OldImage: { id: { S: upstream.id }, type: { S: "execution" }, state: { S: "running" } },
        NewImage: { id: { S: upstream.id }, type: { S: "execution" }, state: { S: "completed" } },
      },
    };
    await coordinator({ Records: [record, record] });
    expect((await take()).map((m) => m.executionId)).toEqual([downstream.id]);
    expect(await downstream.state()).toBe(State.Queued);
  });

  it("counts an edge once when a release is applied but its response is lost and it is retried (T5)", async () => {
    const { store, runtime, worker, take } = harness();
    const upstream = runtime.submit(work, 1);
    const downstream = runtime.submit(after, upstream);
    const [message] = (await take());
    store.inject({ method: "release", id: downstream.id, mode: "after", times: 1 });
    // The release lands, its response is lost: the worker reports the message.
    expect((await worker(sqsEvent([message!]))).batchItemFailures).toHaveLength(1);
    // The coordinator's backstop releases again: the edge is already marked, nothing changes.
    await runtime.engine.releaseDependents(upstream.id);
    const record = await runtime.getExecution(downstream.id);
    expect(record?.pending).toBe(0);
    expect(record?.state).toBe(State.Queued);
    expect((await take()).map((m) => m.executionId)).toEqual([downstream.id]);
  });
});

describe("coordinator handler", () => {
  function streamRecord(id: string, before: string | undefined, after: string, sequence: string): DynamoDBRecord {
    const image = (state: string) => ({ id: { S: id }, type: { S: "execution" }, state: { S: state } });
    return {
      eventName: "MODIFY",
      dynamodb: {
        SequenceNumber: sequence,
        NewImage: image(after),
        ...(before === undefined ? {} : { OldImage: image(before) }),
      },
    };
  }

  it("releases dependents once however often a terminal transition is delivered or replayed (T18)", async () => {
    const { runtime, take } = harness();
    const upstream = runtime.submit(work, 1);
    const downstream = runtime.submit(after, upstream);
    const [message] = (await take());
    const claimed = await runtime.engine.claim(message!);
    // Complete without the inline release, as a worker that died right after its write.
    await runtime.engine.store.update(upstream.id, { state: State.Running }, { state: State.Completed, result: { inline: "J10" } });
    expect(claimed).toBeDefined();
    const coordinator = createCoordinatorHandler({ engine: runtime.engine });
    const records = [
      streamRecord(upstream.id, "running", "completed", "1"),
      streamRecord(upstream.id, "running", "completed", "1"),
      streamRecord(upstream.id, "completed", "completed", "2"),
    ];
    expect((await coordinator({ Records: records })).batchItemFailures).toEqual([]);
    expect((await coordinator({ Records: records })).batchItemFailures).toEqual([]);
    expect((await take()).map((m) => m.executionId)).toEqual([downstream.id]);
    expect((await runtime.getExecution(downstream.id))?.pending).toBe(0);
  });

  it("releases a 10,000 → 1 join once, in about a hundred writes to its item, with completions shuffled and 5% replayed (T6)", async () => {
    const n = 10_000;
    const { store, runtime, worker, take } = harness(undefined, 8);
    const writesToJoin: number[] = [];
    const release = store.release.bind(store);
    const upstreams = Array.from({ length: n }, (_, i) => runtime.submit(work, i));
    const downstream = runtime.submit(join, upstreams);
    store.release = async (edges) => {
      const released = await release(edges);
      if (edges[0]?.downstreamId === downstream.id && released?.decremented === true) writesToJoin.push(edges.length);
      return released;
    };
    const messages = await take();
    expect(messages).toHaveLength(n);
    for (let i = 0; i < n; i += 10) expect((await worker(sqsEvent(messages.slice(i, i + 10)))).batchItemFailures).toEqual([]);
    // Wider than a worker releases inline: the join still waits for all of them.
    expect((await runtime.getExecution(downstream.id))?.pending).toBe(n);
    const coordinator = createCoordinatorHandler({ engine: runtime.engine });
    const records = upstreams.map((u, i) => streamRecord(u.id, "running", "completed", String(i)));
    const replayed = records.filter((_, i) => i % 20 === 0);
    const shuffled = [...records, ...replayed].sort(() => Math.random() - 0.5);
    // The stream hands the coordinator batches of 100, as Lambda's default batch size.
    for (let i = 0; i < shuffled.length; i += 100) {
      expect((await coordinator({ Records: shuffled.slice(i, i + 100) })).batchItemFailures).toEqual([]);
    }
    expect(writesToJoin.reduce((a, b) => a + b, 0)).toBe(n);
    expect(writesToJoin.length).toBeLessThanOrEqual(200);
    expect((await take()).map((m) => m.executionId)).toEqual([downstream.id]);
    expect((await runtime.getExecution(downstream.id))?.pending).toBe(0);
  });

  it("dispatches each of a 1 → 10,000 fan-out's children once, then the join once (T7)", async () => {
    const { runtime, worker, take } = harness();
    const execution = runtime.submit(fanOutAndJoin, 10_000);
    const delivered = new Map<string, number>();
    // The event source, by hand: deliver in batches of ten until nothing is left to deliver.
    for (let messages = await take(); messages.length > 0; messages = await take()) {
      for (const m of messages) delivered.set(m.executionId, (delivered.get(m.executionId) ?? 0) + 1);
      for (let i = 0; i < messages.length; i += 10) expect((await worker(sqsEvent(messages.slice(i, i + 10)))).batchItemFailures).toEqual([]);
    }
    expect(await execution.result()).toBe((10_000 * 9_999) / 2);
    // The parent, 10,000 children and the join: every message sent once, none again.
    expect(delivered.size).toBe(10_002);
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
  });

  it("leaves a narrow join to the worker, which releases it inline", async () => {
    const { runtime, worker, take } = harness(undefined, 8);
    const upstreams = Array.from({ length: 8 }, (_, i) => runtime.submit(work, i));
    const downstream = runtime.submit(join, upstreams);
    expect((await worker(sqsEvent(await take()))).batchItemFailures).toEqual([]);
    expect((await take()).map((m) => m.executionId)).toEqual([downstream.id]);
  });

  it("reports a record it cannot process and goes on with the rest of the batch (T18)", async () => {
    const logs: string[] = [];
    const released: string[] = [];
    const coordinator = createCoordinatorHandler({
      engine: {
        releaseDependents: async (ids) => {
          if (ids.includes("poison")) throw new Error("the table is unreachable");
          released.push(...ids);
        },
      },
      log: (m) => logs.push(m),
    });
    const records = [streamRecord("a", "running", "completed", "1"), streamRecord("poison", "running", "failed", "2"), streamRecord("b", "running", "cancelled", "3")];
    const response = await coordinator({ Records: records });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "2" }]);
    expect(released.sort()).toEqual(["a", "b"]);
    expect(logs.some((m) => m.includes("the dependents of poison failed"))).toBe(true);
  });

  it("ignores records that are not terminal transitions of executions", async () => {
    const released: string[] = [];
    const coordinator = createCoordinatorHandler({ engine: { releaseDependents: (ids) => void released.push(...ids) } });
    await coordinator({
      Records: [
        streamRecord("queued", "waiting", "queued", "1"),
        { eventName: "INSERT", dynamodb: { SequenceNumber: "2", NewImage: { type: { S: "edge" } } } },
        { eventName: "REMOVE", dynamodb: { SequenceNumber: "3" } },
      ],
    });
    expect(released).toEqual([]);
  });
});

describe("dead-letter handler", () => {
  it("marks the execution failed and releases its dependents, who see the error (T10)", async () => {
    const { runtime, take } = harness();
    const upstream = runtime.submit(work, 1);
    const downstream = runtime.submit(after, upstream);
    const [message] = (await take());
    const handler = createDeadLetterHandler({ engine: runtime.engine });
    expect((await handler(sqsEvent([message!], 5))).batchItemFailures).toEqual([]);
    const error = (await upstream.result({ raiseOnFailure: false })) as Error & { code: string };
    expect(error.code).toBe("FLOE_DEAD_LETTERED");
    expect(error.message).toContain("delivered 5 times");
    expect((await take()).map((m) => m.executionId)).toEqual([downstream.id]);
    await settle();
  });
});

describe("a message lost between the record's creation and its send", () => {
  /** A queue that fails the first send of a task, as a process dying before SQS answered. */
  class LosingQueue extends MemoryTaskQueue {
    lost = 0;
    constructor(private readonly task: string) {
      super(systemClock);
    }
    override send(messages: readonly TaskMessage[], delayMs?: number): void {
      if (this.lost === 0 && messages.some((m) => m.taskName === this.task)) {
        this.lost += 1;
        throw new Error("the process died before SQS answered");
      }
      super.send(messages, delayMs);
    }
  }

  it("is sent again when the parent's retry registers the child again", async () => {
    const child = task("h_lost_child", async () => "child ran");
    const parent = task("h_lost_parent", { retries: { limit: 1, delayMs: 0 } }, async () => child.submit().result());
    const queue = new LosingQueue("h_lost_child");
    // The parent suspends while it waits, as in the cloud, so each delivery round finishes.
    const runtime = new Runtime({
      store: new MemoryExecutionStore(),
      queue,
      blobs: new MemoryBlobStore(),
      clock: systemClock,
      ids: cryptoIds,
      suspendAfterMs: 0,
    });
    const worker = createWorkerHandler({ runtime, log: () => undefined });
    const execution = runtime.submit(parent);
    // The event source, by hand: deliver whatever is queued until the parent has finished.
    for (let round = 0; round < 20 && !isTerminalState(await execution.state()); round += 1) {
      await settle();
      const messages = takeAll(queue);
      await Promise.all(messages.map((m) => worker(sqsEvent([m]))));
    }
    expect(queue.lost).toBe(1);
    expect(await execution.state()).toBe(State.Completed);
    expect(await execution.result()).toBe("child ran");
  });
});

describe("a suspension written but never armed", () => {
  it("runs the execution again when its message comes back, so no upstream is left to release it", async () => {
    let parentRuns = 0;
    const child = task("h_unarmed_child", async () => "child ran");
    const parent = task("h_unarmed_parent", async () => {
      parentRuns += 1;
      return child();
    });
    const store = new FaultyStore(new MemoryExecutionStore());
    const queue = new MemoryTaskQueue(systemClock);
    const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds, suspendAfterMs: 0 });
    const worker = createWorkerHandler({ runtime, log: () => undefined });
    const execution = runtime.submit(parent);
    await settle();
    const [first] = takeAll(queue);
    // The parent's state is written suspended, then the write of its await edge fails: the
    // worker died, or lost the write, between the two.
    store.inject({ method: "addEdges", id: execution.id, mode: "before", times: 1 });
    expect((await worker(sqsEvent([first!]))).batchItemFailures).toHaveLength(1);
    expect(await execution.state()).toBe(State.Suspended);
    await settle();
    // The child runs and finishes, with no edge to release.
    const [childMessage] = takeAll(queue);
    expect(childMessage?.taskName).toBe("h_unarmed_child");
    await worker(sqsEvent([childMessage!]));
    expect(await execution.state()).toBe(State.Suspended);
    // The parent's message comes back, as SQS returns a message whose processing failed.
    expect((await worker(sqsEvent([first!], 2))).batchItemFailures).toEqual([]);
    await settle();
    const messages = takeAll(queue);
    expect(messages.map((m) => m.executionId)).toEqual([execution.id]);
    await worker(sqsEvent(messages));
    expect(await execution.result()).toBe("child ran");
    expect(parentRuns).toBe(2);
  });
});

describe("reconciler", () => {
  it("starts a run whose first message was lost and that nobody submitted again", async () => {
    const root = task("h_lost_root", async () => "root ran");
    const store = new MemoryExecutionStore();
    const queue = new MemoryTaskQueue(systemClock);
    let failSend = true;
    const losing: TaskQueue = {
      send: (messages, delayMs) => {
        if (failSend) throw new Error("the API's Lambda died before SQS answered");
        queue.send(messages, delayMs);
      },
    };
    const runtime = new Runtime({ store, queue: losing, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds });
    expect(() => runtime.submit(root)).toThrow(/died before SQS answered/);
    failSend = false;
    const [run] = await runtime.listRuns();
    expect(run?.state).toBe(State.Queued);
    const logs: string[] = [];
    const reconciler = createReconcilerHandler({ engine: runtime.engine, olderThanMs: 0, log: (m) => logs.push(m) });
    expect((await reconciler()).resent).toEqual([run!.id]);
    expect(logs[0]).toContain(run!.id);
    const worker = createWorkerHandler({ runtime, log: () => undefined });
    const message = queue.take();
    expect(message?.executionId).toBe(run!.id);
    expect((await worker(sqsEvent([message!]))).batchItemFailures).toEqual([]);
    expect(await runtime.reference(run!.id).result()).toBe("root ran");
    // Started now: the next round leaves it alone.
    expect((await reconciler()).resent).toEqual([]);
  });
});

function isTerminalState(state: string): boolean {
  return ["completed", "failed", "cancelled"].includes(state);
}
