/**
 * A wait cycle on the worker handler's path (RELIABILITY T25): tasks that await each other
 * suspend, as on AWS, and the last of them to suspend fails with FLOE_WAIT_CYCLE, which
 * releases the others. The store answers with promises, as DynamoDB does.
 */
import { describe, expect, it } from "vitest";
import { createWorkerHandler } from "../../functions/worker.ts";
import { ErrorCode, task, type Execution } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { State } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { sqsEvent } from "../support/sqs-event.ts";
import { FaultyStore } from "./faulty-store.ts";
import { takeAll } from "../support/take-all.ts";

/** The executions the tasks await, by key: set by the test right after submitting. */
const held = new Map<string, Execution<unknown>>();
const awaitsHeld = task("wc_awaits_held", { retries: 2 }, async (key: string) => held.get(key)!.result());

describe("worker handler", () => {
  it("ends three tasks awaiting each other in a cycle, each failed once with FLOE_WAIT_CYCLE, none left suspended (T25)", async () => {
    const store = new FaultyStore(new MemoryExecutionStore());
    const queue = new MemoryTaskQueue(systemClock);
    const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds, suspendAfterMs: 0 });
    const worker = createWorkerHandler({ runtime, log: () => undefined });
    const keys = ["a", "b", "c"];
    const executions = keys.map((_, i) => runtime.submit(awaitsHeld, keys[(i + 1) % keys.length]!));
    keys.forEach((key, i) => held.set(key, executions[i]!));
    // Deliver what is sent, as the event source would, until nothing more is.
    for (let round = 0; round < 20; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const taken = takeAll(queue);
      if (taken.length === 0) break;
      expect((await worker(sqsEvent(taken))).batchItemFailures).toEqual([]);
    }
    for (const execution of executions) {
      expect(await runtime.getExecution(execution.id)).toMatchObject({ state: State.Failed, attempt: 1 });
      await expect(execution.result()).rejects.toMatchObject({ code: ErrorCode.WaitCycle, message: expect.stringContaining(" waits in a cycle (") });
    }
    held.clear();
  });
});
