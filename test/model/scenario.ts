/**
 * T19 (and T1): a model-based test. fast-check draws a random DAG of tasks and a schedule
 * of deliveries and faults: messages delivered once, two or three times at the same time
 * (T1) or redelivered, store writes and SQS sends that fail before or after they apply.
 * The worker and coordinator handlers run over a store (in memory, or DynamoDB Local), on a
 * clock the test moves, with take-overs after a visibility timeout as in AWS. Safety is
 * checked after every step, each execution claimed once per attempt included; once the
 * faults stop, the event sources keep delivering the messages that exist (none is made up:
 * a lost send must be repaired by floe, not by the test) until the system is quiet, and
 * then every execution must be completed with the value the model computes.
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
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { FaultyStore } from "../faults/faulty-store.ts";
import { InjectedSendFault, ManualClock } from "../support/sim-sqs.ts";

const node = task("m_node", { wait: true }, async (i: number, upstreams: Execution<number>[]) => {
  let total = i;
  for (const upstream of upstreams) total += await upstream.result();
  return total;
});

/** A DAG: node i depends on a subset of the nodes before it. */
export const dagArb = fc
  .integer({ min: 1, max: 12 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j)))));

export type Step =
  | { kind: "deliver" | "duplicate"; pick: number; copies?: number }
  | { kind: "fault"; method: "update" | "release" | "create" | "send"; mode: "before" | "after"; pick: number };

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat(), copies: fc.integer({ min: 2, max: 3 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("fault" as const),
      method: fc.constantFrom("update" as const, "release" as const, "send" as const),
      mode: fc.constantFrom("before" as const, "after" as const),
      pick: fc.nat(),
    }),
  },
);

/** The visibility timeout, and so the take-over threshold. */
const VISIBILITY_MS = 30_000;

/** A message in the queue; one whose delivery failed is visible again a visibility timeout later. */
interface Held {
  readonly message: TaskMessage;
  visibleAt: number;
}

/**
 * A queue that keeps what was sent, for the test to deliver in the order the schedule says.
 * A send answers later, as a request does, and fails on command: before the message is
 * queued, or after (the response lost).
 */
class Pool implements TaskQueue {
  readonly messages: Held[] = [];
  readonly faults: { executionId: string; mode: "before" | "after" }[] = [];

  constructor(private readonly clock: ManualClock) {}

  async send(messages: readonly TaskMessage[]): Promise<void> {
    await Promise.resolve();
    let failed = false;
    for (const message of messages) {
      const fault = this.faults.findIndex((f) => f.executionId === message.executionId);
      const mode = fault < 0 ? undefined : this.faults.splice(fault, 1)[0]?.mode;
      failed ||= mode !== undefined;
      if (mode !== "before") this.messages.push({ message, visibleAt: this.clock.now() });
    }
    if (failed) throw new InjectedSendFault("SendMessage failed");
  }
}

/** Safety, checked after every step. */
function checkSafety(records: readonly ExecutionRecord[], upstreamsOf: Map<string, string[]>, byId: Map<string, ExecutionRecord>): void {
  for (const record of records) {
    expect(record.pending).toBeGreaterThanOrEqual(0);
    expect(record.history.filter((h) => h.state === State.Completed).length).toBeLessThanOrEqual(1);
    // Claimed once per attempt (T1): duplicates within the visibility timeout never start it again.
    const claims = record.history.filter((h) => h.state === State.Running).map((h) => h.attempt);
    expect(new Set(claims).size).toBe(claims.length);
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
  const clock = new ManualClock();
  const pool = new Pool(clock);
  const runtime = new Runtime({ store, queue: pool, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, takeOverAfterMs: VISIBILITY_MS });
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
  /** Delivers `copies` of a message at once; a failed copy comes back after the visibility timeout. */
  const deliver = async (held: Held, copies = 1) => {
    // It is received once visible: a failed delivery's message only after its visibility timeout.
    clock.advanceTo(held.visibleAt);
    const responses = await Promise.all(
      Array.from({ length: copies }, () => {
        delivery += 1;
        return worker({ Records: [sqsRecord(encodeMessage(held.message), `d${delivery}`)] });
      }),
    );
    if (responses.some((r) => r.batchItemFailures.length > 0)) {
      pool.messages.push({ message: held.message, visibleAt: clock.now() + VISIBILITY_MS });
    }
  };

  for (const step of steps) {
    if (step.kind === "fault") {
      const target = executions[step.pick % executions.length]!;
      if (step.method === "send") pool.faults.push({ executionId: target.id, mode: step.mode });
      else store.inject({ method: step.method, id: target.id, mode: step.mode, times: 1 });
      continue;
    }
    if (pool.messages.length === 0) continue;
    const [held] = pool.messages.splice(step.pick % pool.messages.length, 1);
    if (held === undefined) continue;
    await deliver(held, step.kind === "duplicate" ? (step.copies ?? 2) : 1);
    const all = await records();
    checkSafety(all, upstreamsOf, await byId());
  }

  // The faults stop; the event sources go on until the system is quiet. No message is made
  // up: every one that exists is in the pool (a failed delivery's comes back).
  store.faults.splice(0);
  pool.faults.splice(0);
  for (let round = 0; round < 200; round += 1) {
    while (pool.messages.length > 0) await deliver(pool.messages.shift()!);
    const all = await records();
    checkSafety(all, upstreamsOf, await byId());
    if (all.every((r) => isTerminal(r.state))) break;
    // The stream delivers every terminal transition to the coordinator (the backstop).
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
    if (pool.messages.length === 0) break;
  }
  const values = dag.reduce<number[]>((acc, ups, i) => [...acc, i + ups.reduce((s, u) => s + (acc[u] ?? 0), 0)], []);
  const final = await records();
  expect(final.map((r) => r.state)).toEqual(final.map(() => State.Completed));
  expect(await Promise.all(executions.map((e) => e.result()))).toEqual(values);
}
