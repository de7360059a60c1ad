/**
 * The flush before an attempt commits (T27, failed flush): a parent whose child's
 * registration failed must never be `completed` while that child does not exist, however
 * the runtime then handles the failed write (the attempt fails and retries, or it stays
 * uncommitted and its delivery fails and comes back).
 */
import { describe, expect, it } from "vitest";
import { createWorkerHandler } from "../../functions/worker.ts";
import { task } from "floe";
import { sqsEvent } from "../support/sqs-event.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { State } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { FaultyStore } from "./faulty-store.ts";
import { takeAll } from "../support/take-all.ts";

const child = task("f_flush_child", async () => "child ran");
/** Submits a child and finishes without waiting for it: only the flush holds its write. */
const parent = task("f_flush_parent", { retries: { limit: 1, delayMs: 0 } }, async () => {
  child.submit();
  return "parent done";
});

describe("an attempt whose child's registration failed", () => {
  it("is never completed while the child does not exist", async () => {
    const store = new FaultyStore(new MemoryExecutionStore());
    const queue = new MemoryTaskQueue(systemClock);
    // A message of a running attempt delivered again takes over at once (a visibility timeout of 0).
    const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds, takeOverAfterMs: 0 });
    const worker = createWorkerHandler({ runtime, log: () => undefined });
    const execution = runtime.submit(parent);
    await execution.created;
    /** The parent is completed only once its child exists: checked after every delivery. */
    const check = async () => {
      const children = (await store.executions(execution.id)).filter((e) => e.parentId === execution.id);
      const record = await store.get(execution.id);
      if (record?.state === State.Completed) expect(children.map((c) => c.taskName)).toEqual([child.definition.name]);
      return { record, children };
    };
    // The next execution created is the child: its registration fails before writing.
    store.inject({ method: "create", mode: "before", times: 1 });
    let messages = takeAll(queue);
    expect(messages.map((m) => m.executionId)).toEqual([execution.id]);
    let failed = (await worker(sqsEvent(messages))).batchItemFailures.map((f) => f.itemIdentifier);
    expect(store.faults[0]?.times).toBe(0);
    const first = await check();
    expect(first.children).toEqual([]);
    expect(first.record?.state).not.toBe(State.Completed);
    // The event source, by hand: new messages and the failed deliveries, until quiet.
    for (let round = 0; round < 10; round += 1) {
      messages = [...messages.filter((m) => failed.includes(`msg-${m.executionId}`)), ...takeAll(queue)];
      if (messages.length === 0) break;
      failed = (await worker(sqsEvent(messages, round + 2))).batchItemFailures.map((f) => f.itemIdentifier);
      await check();
    }
    expect(await execution.result()).toBe("parent done");
    const { children } = await check();
    expect(children.map((c) => c.state)).toEqual([State.Completed]);
  });
});
