/**
 * Whatever a task throws, the Lambda worker records a readable failure and acknowledges
 * the message (RELIABILITY T24): a value that cannot be read must not make the outcome's
 * write throw, which would leave the execution running and its message redelivered until
 * it is dead-lettered.
 */
import { describe, expect, it } from "vitest";
import { createWorkerHandler } from "../../functions/worker.ts";
import { task } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { State, type TaskMessage } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { sqsEvent } from "../support/sqs-event.ts";
import { hostile, hostileKinds, readAs, type HostileKind } from "../support/hostile-values.ts";
import { takeAll } from "../support/take-all.ts";

const throwsOnce = task("tv_throws_once", async (kind: HostileKind) => {
  throw hostile(kind);
});
const throwsTwice = task("tv_throws_twice", { retries: { limit: 1, delayMs: 0 } }, async (kind: HostileKind) => {
  throw hostile(kind);
});

function harness() {
  const queue = new MemoryTaskQueue(systemClock);
  const runtime = new Runtime({ store: new MemoryExecutionStore(), queue, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds });
  const logs: string[] = [];
  const worker = createWorkerHandler({ runtime, log: (m) => logs.push(m) });
  const take = (): TaskMessage[] => takeAll(queue);
  return { runtime, worker, take, logs };
}

describe("worker handler, a task that throws a hard-to-read value (T24)", () => {
  it.each([
    { definition: throwsOnce, deliveries: 1 },
    { definition: throwsTwice, deliveries: 2 },
  ])("fails $definition.name's execution readably after $deliveries deliveries, each acknowledged", async ({ definition, deliveries }) => {
    const { runtime, worker, take, logs } = harness();
    const executions = hostileKinds.map((kind) => runtime.submit(definition, kind));
    for (let delivery = 1; delivery <= deliveries; delivery += 1) {
      const messages = take();
      expect(messages).toHaveLength(hostileKinds.length);
      expect((await worker(sqsEvent(messages, delivery))).batchItemFailures).toEqual([]);
    }
    expect(take()).toEqual([]);
    expect(logs).toEqual([]);
    for (const [i, kind] of hostileKinds.entries()) {
      const execution = executions[i]!;
      const record = await runtime.getExecution(execution.id);
      expect([record?.state, record?.attempt], kind).toEqual([State.Failed, deliveries]);
      const error = (await execution.result({ raiseOnFailure: false })) as Error & { code?: string };
      expect(error.message, kind).toMatch(readAs[kind].message);
      expect(error.code, kind).toBe(readAs[kind].code);
    }
  });
});
