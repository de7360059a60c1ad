/**
 * T19 (and T1): a model-based test. fast-check draws a random DAG of tasks and a schedule
 * of deliveries and faults: messages delivered once, twice at the same time (T1) or
 * redelivered, store writes that fail before or after they apply. The worker and
 * coordinator handlers run over a store (in memory, or DynamoDB Local). Safety is checked after every
 * step; once the faults stop, the event sources keep redelivering until the system is
 * quiet, and then every execution must be completed with the value the model computes.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { createCoordinatorHandler } from "../../functions/coordinator.ts";
import { createWorkerHandler } from "../../functions/worker.ts";
import { task, type Execution } from "floe";
import { encodeMessage } from "../../sdk/aws/sqs-task-queue.ts";
import { sqsRecord } from "../support/sqs-event.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { State, isTerminal, type ExecutionRecord, type TaskMessage } from "../../sdk/engine/model.ts";
import type { ExecutionStore, TaskQueue } from "../../sdk/engine/ports.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { FaultyStore } from "../faults/faulty-store.ts";

const node = task("m_node", { wait: true }, async (i: number, upstreams: Execution<number>[]) => {
  let total = i;
  for (const upstream of upstreams) total += await upstream.result();
  return total;
});

/** A DAG: node i depends on a subset of the nodes before it. */
export const dagArb = fc
  .integer({ min: 1, max: 12 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j)))));

export type Step = { kind: "deliver" | "duplicate"; pick: number } | { kind: "fault"; method: "update" | "release" | "create"; mode: "before" | "after"; pick: number };

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("fault" as const),
      method: fc.constantFrom("update" as const, "release" as const),
      mode: fc.constantFrom("before" as const, "after" as const),
      pick: fc.nat(),
    }),
  },
);

/** A queue that keeps what was sent, for the test to deliver in the order the schedule says. */
class Pool implements TaskQueue {
  readonly messages: TaskMessage[] = [];
  send(messages: readonly TaskMessage[]): void {
    this.messages.push(...messages);
  }
}

/** Safety, checked after every step. */
function checkSafety(records: readonly ExecutionRecord[], upstreamsOf: Map<string, string[]>, byId: Map<string, ExecutionRecord>): void {
  for (const record of records) {
    expect(record.pending).toBeGreaterThanOrEqual(0);
    expect(record.history.filter((h) => h.state === State.Completed).length).toBeLessThanOrEqual(1);
    // Nothing starts before the upstreams it waits for have finished.
    if (record.history.some((h) => h.state === State.Running)) {
      for (const upstream of upstreamsOf.get(record.id) ?? []) {
        const u = byId.get(upstream);
        expect(u !== undefined && isTerminal(u.state)).toBe(true);
      }
    }
  }
}

/** Runs one drawn scenario over the store `makeStore` gives. */
export async function runScenario(
  dag: readonly (readonly number[])[],
  steps: readonly Step[],
  makeStore: () => ExecutionStore | Promise<ExecutionStore> = () => new MemoryExecutionStore(),
): Promise<void> {
  const memory = await makeStore();
  const store = new FaultyStore(memory);
  const pool = new Pool();
  const runtime = new Runtime({ store, queue: pool, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds, takeOverAfterMs: 0 });
  const worker = createWorkerHandler({ runtime, log: () => undefined });
  const coordinator = createCoordinatorHandler({ engine: runtime.engine, log: () => undefined });
  // Submitted before any fault, as an API call would be.
  const executions: Execution<number>[] = [];
  for (const [i, ups] of dag.entries()) executions.push(runtime.submit(node, i, ups.map((u) => executions[u]!)));
  await Promise.all(executions.map((e) => e.created));
  const upstreamsOf = new Map(executions.map((e, i) => [e.id, (dag[i] ?? []).map((u) => executions[u]!.id)]));
  const records = async () => (await memory.getMany(executions.map((e) => e.id))).filter((r): r is ExecutionRecord => r !== undefined);
  const byId = async () => new Map((await records()).map((r) => [r.id, r]));
  let delivery = 0;
  const deliver = async (message: TaskMessage) => {
    delivery += 1;
    const response = await worker({ Records: [sqsRecord(encodeMessage(message), `d${delivery}`)] });
    // A reported failure comes back, as after the visibility timeout.
    if (response.batchItemFailures.length > 0) pool.messages.push(message);
  };

  for (const step of steps) {
    if (step.kind === "fault") {
      const target = executions[step.pick % executions.length]!;
      store.inject({ method: step.method, id: target.id, mode: step.mode, times: 1 });
      continue;
    }
    if (pool.messages.length === 0) continue;
    const [message] = pool.messages.splice(step.pick % pool.messages.length, 1);
    if (message === undefined) continue;
    if (step.kind === "duplicate") await Promise.all([deliver(message), deliver(message)]);
    else await deliver(message);
    const all = await records();
    checkSafety(all, upstreamsOf, await byId());
  }

  // The faults stop; the event sources go on until the system is quiet.
  store.faults.splice(0);
  for (let round = 0; round < 200; round += 1) {
    while (pool.messages.length > 0) await deliver(pool.messages.shift()!);
    const all = await records();
    checkSafety(all, upstreamsOf, await byId());
    if (all.every((r) => isTerminal(r.state))) break;
    // The stream delivers every terminal transition to the coordinator (the backstop) ...
    await coordinator({
      Records: all
        .filter((r) => isTerminal(r.state))
        .map((r, n) => ({
          eventName: "MODIFY" as const,
          dynamodb: {
            SequenceNumber: String(n),
            OldImage: { id: { S: r.id }, type: { S: "execution" }, state: { S: "running" } },
            NewImage: { id: { S: r.id }, type: { S: "execution" }, state: { S: r.state } },
          },
        })),
    });
    // ... and a message whose attempt never finished reappears after its visibility timeout.
    for (const r of all) {
      if (r.state === State.Running || r.state === State.Queued) {
        pool.messages.push({ executionId: r.id, taskName: r.taskName, attempt: r.attempt });
      }
    }
  }
  const values = dag.reduce<number[]>((acc, ups, i) => [...acc, i + ups.reduce((s, u) => s + (acc[u] ?? 0), 0)], []);
  const final = await records();
  expect(final.map((r) => r.state)).toEqual(final.map(() => State.Completed));
  expect(await Promise.all(executions.map((e) => e.result()))).toEqual(values);
}
