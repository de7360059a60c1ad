/**
 * T21 on the in-memory store: an SQS send that fails (after the SDK's retries) after the
 * `queued` write it follows, for each of the three sends that follow one: a released
 * downstream's, a retry's delayed message, a child's first message. The handler that wrote
 * `queued` fails its delivery, and the redelivery repairs. Also the reconciler's backstop
 * when no redelivery comes, and a failed submission write that must not fail user work.
 */
import { describe, expect, it } from "vitest";
import { createCoordinatorHandler } from "../../functions/coordinator.ts";
import { createReconcilerHandler } from "../../functions/reconciler.ts";
import { createWorkerHandler } from "../../functions/worker.ts";
import { sleep, task, type Execution } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { State, type ExecutionRecord } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { ManualClock, SimulatedSqs, type SendFault } from "../support/sim-sqs.ts";
import { FaultyStore } from "./faulty-store.ts";

const VISIBILITY_MS = 30_000;
const runs = new Map<string, number>();
const count = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);

const upstreamTask = task("ls_up", async (n: number) => {
  count("ls_up");
  return n + 1;
});
const downstreamTask = task("ls_down", { wait: true }, async (up: Execution<number>) => {
  count("ls_down");
  return (await up.result()) * 10;
});
let flaky = 0;
const flakyTask = task("ls_flaky", { retries: { limit: 1, delayMs: 2_000 } }, async () => {
  flaky += 1;
  if (flaky === 1) throw new Error("the first attempt fails");
  return "second attempt";
});
const childTask = task("ls_child", async () => {
  count("ls_child");
  return "child";
});
const parentTask = task("ls_parent", async () => {
  count("ls_parent");
  childTask.submit();
  return "parent";
});

const napperTask = task("ls_napper", async () => {
  count("ls_napper");
  await sleep(600_000);
  return "rested";
});

function setup() {
  const clock = new ManualClock();
  const sqs = new SimulatedSqs(clock, VISIBILITY_MS);
  const store = new FaultyStore(new MemoryExecutionStore());
  const runtime = new Runtime({ store, queue: sqs, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, takeOverAfterMs: VISIBILITY_MS });
  const worker = createWorkerHandler({ runtime, log: () => undefined });
  const start = clock.now();
  /** Delivers until the queue is empty; answers how long it took on the test's clock. */
  const quiesce = async (): Promise<number> => {
    for (let round = 0; round < 50 && sqs.size > 0; round += 1) await sqs.deliver(worker);
    expect(sqs.size).toBe(0);
    return clock.now() - start;
  };
  return { clock, sqs, store, runtime, worker, quiesce };
}

const runningEntries = (record: ExecutionRecord | undefined) => record?.history.filter((h) => h.state === State.Running).length;

describe("a send that fails after the queued write (T21)", () => {
  it.each(["before", "after"] as const)("released downstream, failing %s reaching the queue: runs once after a redelivery", async (mode) => {
    runs.clear();
    const { sqs, runtime, quiesce } = setup();
    const up = runtime.submit(upstreamTask, 1);
    const down = runtime.submit(downstreamTask, up);
    await down.created;
    sqs.faults.push({ executionId: down.id, mode, times: 1 } satisfies SendFault);
    const took = await quiesce();
    expect((await runtime.getExecution(down.id))?.state).toBe(State.Completed);
    expect(await down.result()).toBe(20);
    expect(runs.get("ls_down")).toBe(1);
    expect(runs.get("ls_up")).toBe(1);
    expect(runningEntries(await runtime.getExecution(down.id))).toBe(1);
    expect(took).toBeLessThanOrEqual(2 * VISIBILITY_MS);
  });

  it.each(["before", "after"] as const)("retry's delayed message, failing %s reaching the queue: the next attempt runs once, when due", async (mode) => {
    flaky = 0;
    const { sqs, runtime, quiesce, clock } = setup();
    const execution = runtime.submit(flakyTask);
    await execution.created;
    sqs.faults.push({ executionId: execution.id, mode, times: 1 });
    const started = clock.now();
    await quiesce();
    expect((await runtime.getExecution(execution.id))?.state).toBe(State.Completed);
    expect(await execution.result()).toBe("second attempt");
    expect(flaky).toBe(2);
    const record = await runtime.getExecution(execution.id);
    expect(record?.history.map((h) => `${h.state}:${h.attempt}`)).toEqual(["queued:1", "running:1", "queued:2", "running:2", "completed:2"]);
    const secondStart = record?.history[3]?.at ?? 0;
    expect(secondStart).toBeGreaterThanOrEqual(started + 2_000);
    expect(secondStart - started).toBeLessThanOrEqual(2 * VISIBILITY_MS);
  });

  it.each(["before", "after"] as const)("child's first message, failing %s reaching the queue: the parent is not failed, and the child runs once", async (mode) => {
    runs.clear();
    const { sqs, runtime, quiesce } = setup();
    const parent = runtime.submit(parentTask);
    await parent.created;
    sqs.faults.push({ taskName: "ls_child", mode, times: 1 });
    const took = await quiesce();
    expect((await runtime.getExecution(parent.id))?.state).toBe(State.Completed);
    expect(await parent.result()).toBe("parent");
    const run = await runtime.getRun(parent.id);
    const child = run?.executions.find((e) => e.taskName === "ls_child");
    expect(child?.state).toBe(State.Completed);
    expect(runs.get("ls_child")).toBe(1);
    expect(runningEntries(child)).toBe(1);
    // The parent's first attempt was left uncommitted, not failed: its take-over completed it.
    const history = (await runtime.getExecution(parent.id))?.history.map((h) => `${h.state}:${h.attempt}`);
    expect(history).toEqual(["queued:1", "running:1", "running:2", "completed:2"]);
    expect(took).toBeLessThanOrEqual(2 * VISIBILITY_MS);
  });

  it("coordinator: a send that fails after it queued a wide join is sent again by its release of each alone", async () => {
    runs.clear();
    const { sqs, runtime, clock } = setup();
    const coordinator = createCoordinatorHandler({ engine: runtime.engine, log: () => undefined });
    const up = runtime.submit(upstreamTask, 1);
    const down = runtime.submit(downstreamTask, up);
    await down.created;
    // Released and queued by the coordinator here, as a join wider than the inline fan-in would be.
    await runtime.engine.claim({ executionId: up.id, taskName: "ls_up", attempt: 1 });
    await runtime.engine.store.update(up.id, { state: State.Running }, { state: State.Completed, finishedAt: clock.now(), result: { inline: "[2]" } });
    await sqs.deliver(async () => ({ batchItemFailures: [] }));
    sqs.faults.push({ executionId: down.id, mode: "before", times: 1 });
    const image = (state: string) => ({ id: { S: up.id }, type: { S: "execution" }, state: { S: state } });
    const response = await coordinator({ Records: [{ eventName: "MODIFY", dynamodb: { SequenceNumber: "1", OldImage: image("running"), NewImage: image("completed") } }] });
    expect(response.batchItemFailures).toEqual([]);
    expect(sqs.sent.map((s) => s.message.executionId)).toContain(down.id);
    expect((await runtime.getExecution(down.id))?.state).toBe(State.Queued);
  });
});

describe("the reconciler's backstop", () => {
  it("sends again the message of any execution queued long after it became due, and of no other", async () => {
    runs.clear();
    const { sqs, runtime, clock, worker } = setup();
    const up = runtime.submit(upstreamTask, 1);
    const down = runtime.submit(downstreamTask, up);
    await down.created;
    // The downstream's send fails and the upstream's message never comes back (it was
    // dead-lettered, say): only the backstop is left.
    sqs.faults.push({ executionId: down.id, mode: "before", times: 1 });
    await sqs.deliver(async (event) => {
      await worker(event);
      return { batchItemFailures: [] };
    });
    expect((await runtime.getExecution(down.id))?.state).toBe(State.Queued);
    expect(sqs.size).toBe(0);
    const reconciler = createReconcilerHandler({ engine: runtime.engine, olderThanMs: 900_000, log: () => undefined });
    expect((await reconciler()).resent).toEqual([]);
    clock.advanceTo(clock.now() + 900_000);
    expect((await reconciler()).resent).toEqual([down.id]);
    await sqs.deliver(worker);
    expect((await runtime.getExecution(down.id))?.state).toBe(State.Completed);
    expect(await down.result()).toBe(20);
    expect((await reconciler()).resent).toEqual([]);
  });

  it("sends again a sleeping execution's lost wake message once its wake time is long past", async () => {
    runs.clear();
    const { sqs, runtime, clock, worker } = setup();
    const napper = runtime.submit(napperTask);
    await napper.created;
    // Its wake send fails, and the message that slept never comes back to repair it.
    sqs.faults.push({ executionId: napper.id, mode: "before", times: 1 });
    await sqs.deliver(async (event) => {
      await worker(event);
      return { batchItemFailures: [] };
    });
    const asleep = await runtime.getExecution(napper.id);
    expect(asleep?.state).toBe(State.Sleeping);
    expect(sqs.size).toBe(0);
    const reconciler = createReconcilerHandler({ engine: runtime.engine, olderThanMs: 900_000, log: () => undefined });
    clock.advanceTo(asleep!.notBefore! + 899_999);
    expect((await reconciler()).resent).toEqual([]);
    clock.advanceTo(asleep!.notBefore! + 900_000);
    expect((await reconciler()).resent).toEqual([napper.id]);
    await sqs.deliver(worker);
    expect(await napper.result()).toBe("rested");
    expect(runs.get("ls_napper")).toBe(2);
    expect((await reconciler()).resent).toEqual([]);
  });

  it("leaves a retry alone until it is due", async () => {
    flaky = 0;
    const { sqs, runtime, clock, worker } = setup();
    const execution = runtime.submit(flakyTask);
    await execution.created;
    await sqs.deliver(worker);
    const reconciler = createReconcilerHandler({ engine: runtime.engine, olderThanMs: 0, log: () => undefined });
    expect((await reconciler()).resent).toEqual([]);
    clock.advanceTo(clock.now() + 2_000);
    expect((await reconciler()).resent).toEqual([execution.id]);
  });
});

describe("a submission write that fails inside an attempt", () => {
  it("leaves the attempt uncommitted and fails the delivery, and the take-over completes it", async () => {
    runs.clear();
    const { store, runtime, quiesce } = setup();
    const parent = runtime.submit(parentTask);
    await parent.created;
    store.inject({ method: "create", mode: "before", times: 1 });
    await quiesce();
    expect((await runtime.getExecution(parent.id))?.state).toBe(State.Completed);
    expect(await parent.result()).toBe("parent");
    expect(runs.get("ls_parent")).toBe(2);
    expect(runs.get("ls_child")).toBe(1);
    const history = (await runtime.getExecution(parent.id))?.history.map((h) => `${h.state}:${h.attempt}`);
    expect(history).toEqual(["queued:1", "running:1", "running:2", "completed:2"]);
  });

  it("takes the attempt over though its message comes back a little before the attempt is a visibility timeout old", async () => {
    runs.clear();
    const { clock, sqs, store, runtime, worker } = setup();
    const parent = runtime.submit(parentTask);
    await parent.created;
    store.inject({ method: "create", mode: "before", times: 1 });
    // The first delivery starts its attempt 10 ms after SQS handed it out (a cold start):
    // the message is visible again 10 ms before the attempt can be taken over.
    let cold = true;
    const late: typeof worker = (event) => {
      if (cold) clock.advanceTo(clock.now() + 10);
      cold = false;
      return worker(event);
    };
    for (let round = 0; round < 50 && sqs.size > 0; round += 1) await sqs.deliver(late);
    expect((await runtime.getExecution(parent.id))?.state).toBe(State.Completed);
    expect(runs.get("ls_parent")).toBe(2);
    expect(runs.get("ls_child")).toBe(1);
  });

  it("fails the attempt on the embedded engine's path, which has no redelivery", async () => {
    runs.clear();
    const clock = new ManualClock();
    const sqs = new SimulatedSqs(clock, VISIBILITY_MS);
    const store = new FaultyStore(new MemoryExecutionStore());
    const runtime = new Runtime({ store, queue: sqs, blobs: new MemoryBlobStore(), clock, ids: cryptoIds });
    const parent = runtime.submit(parentTask);
    await parent.created;
    store.inject({ method: "create", mode: "before", times: 1 });
    await sqs.deliver(createWorkerHandler({ runtime, log: () => undefined }));
    expect((await runtime.getExecution(parent.id))?.state).toBe(State.Failed);
  });
});
