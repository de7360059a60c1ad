/**
 * `result()` over a store that answers later (DynamoDB's): it reads each record once (a
 * second read of each result was a read unit per task thrown away, and a failure of the
 * first read surfaced as nobody's rejection), the reads of one turn go out as one batch,
 * eventually consistent, and a record such a read found not yet terminal is read again
 * consistently before anything is decided on it.
 */
import { describe, expect, it } from "vitest";
import { task, type Execution } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import type { ExecutionRecord } from "../../sdk/engine/model.ts";
import type { ExecutionStore, ReadOptions } from "../../sdk/engine/ports.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { takeAll } from "../support/take-all.ts";

const value = task("rr_value", async (x: number) => x * 2);
const join = task("rr_join", { wait: true }, async (xs: Execution<number>[]) =>
  (await Promise.all(xs.map((x) => x.result()))).reduce((a, b) => a + b, 0),
);

/** What a {@link laterStore} was asked. */
interface Reads {
  /** Records read, by id, whatever the call. */
  readonly byId: Map<string, number>;
  readonly gets: string[];
  readonly batches: { ids: readonly string[]; consistent: boolean }[];
}

/**
 * A memory store whose reads answer on a later turn, as DynamoDB's do, counted. An
 * eventually consistent read of an id made `stale` returns the record as it was created
 * (queued), as a replica that missed every later write would.
 */
function laterStore() {
  const inner = new MemoryExecutionStore();
  const reads: Reads = { byId: new Map(), gets: [], batches: [] };
  const failing = new Set<string>();
  const stale = new Set<string>();
  const created = new Map<string, ExecutionRecord>();
  const count = (id: string): void => void reads.byId.set(id, (reads.byId.get(id) ?? 0) + 1);
  const fail = (id: string): void => {
    if (failing.delete(id)) throw new Error(`reading ${id} failed`);
  };
  const overrides: Partial<ExecutionStore> = {
    create: (record) => {
      created.set(record.id, structuredClone(record));
      return inner.create(record);
    },
    get: async (id) => {
      count(id);
      reads.gets.push(id);
      await Promise.resolve();
      fail(id);
      return inner.get(id);
    },
    getMany: async (ids: readonly string[], options?: ReadOptions) => {
      const consistent = options?.consistent ?? true;
      ids.forEach(count);
      reads.batches.push({ ids, consistent });
      await Promise.resolve();
      ids.forEach(fail);
      return ids.map((id) => (!consistent && stale.has(id) ? created.get(id) : inner.get(id)));
    },
  };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const override = overrides[property as keyof ExecutionStore];
      if (override !== undefined) return override;
      const member = Reflect.get(target, property, receiver) as unknown;
      return typeof member === "function" ? (member as (...args: unknown[]) => unknown).bind(target) : member;
    },
  });
  return { store, reads, failNext: (id: string) => failing.add(id), makeStale: (id: string) => stale.add(id) };
}

/**
 * A runtime over `store` on which `value(x)` has run to completion for each of `xs`. It
 * suspends a task at its first wait, as in the cloud: a join handed a record that is not
 * finished suspends rather than completes.
 */
async function finished(store: ExecutionStore, ...xs: number[]): Promise<{ runtime: Runtime; queue: MemoryTaskQueue; executions: Execution<number>[] }> {
  const queue = new MemoryTaskQueue(systemClock);
  const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds, suspendAfterMs: 0 });
  const executions = xs.map((x) => runtime.submit<[number], number>(value, x));
  await Promise.all(executions.map((e) => e.created));
  for (const message of takeAll(queue)) await runtime.process(message);
  return { runtime, queue, executions };
}

/**
 * Runs one attempt of `join` over `executions`, which completes it; returns its result,
 * read after what is counted.
 */
async function joined(runtime: Runtime, store: ExecutionStore, queue: MemoryTaskQueue, executions: Execution<number>[], reads: Reads): Promise<() => Promise<unknown>> {
  const sum = runtime.submit(join, executions);
  await sum.created;
  reads.byId.clear();
  reads.gets.length = 0;
  reads.batches.length = 0;
  for (const message of takeAll(queue)) await runtime.process(message);
  expect((await store.get(sum.id))?.history.map((t) => t.state)).toEqual(["waiting", "queued", "running", "completed"]);
  return () => runtime.reference(sum.id).result();
}

describe("result() over a store that answers later", () => {
  it("reads a finished execution's record once", async () => {
    const { store, reads } = laterStore();
    const { runtime, executions } = await finished(store, 21);
    const id = executions[0]!.id;
    reads.byId.clear();
    expect(await runtime.reference(id).result()).toBe(42);
    expect(reads.byId.get(id)).toBe(1);
    await runtime.close();
  });

  it("rejects result() with the first read's failure, which no one else sees", async () => {
    const { store, failNext } = laterStore();
    const { runtime, executions } = await finished(store, 1);
    const id = executions[0]!.id;
    failNext(id);
    await expect(runtime.reference(id).result()).rejects.toThrow(`reading ${id} failed`);
    await runtime.close();
  });

  it("rejects every result() of a batch whose read failed, and reads again next time", async () => {
    const { store, failNext } = laterStore();
    const { runtime, executions } = await finished(store, 1, 2, 3);
    const [a, b, c] = executions.map((e) => e.id) as [string, string, string];
    // The first read of a runtime goes alone; those after it are batched.
    expect(await runtime.reference(a).result()).toBe(2);
    failNext(b);
    const batch = [b, c].map((id) => runtime.reference(id).result());
    await expect(batch[0]).rejects.toThrow(`reading ${b} failed`);
    await expect(batch[1]).rejects.toThrow(`reading ${b} failed`);
    expect(await runtime.reference(c).result()).toBe(6);
    await runtime.close();
  });

  it("reads the results a join of 200 asks for in one turn in a few eventually consistent batches", async () => {
    const { store, reads } = laterStore();
    const xs = Array.from({ length: 200 }, (_, i) => i);
    const { runtime, queue, executions } = await finished(store, ...xs);
    const result = await joined(runtime, store, queue, executions, reads);
    const ids = new Set(executions.map((e) => e.id));
    expect(reads.gets.filter((id) => ids.has(id))).toEqual([]);
    const batches = reads.batches.filter((b) => b.ids.some((id) => ids.has(id)));
    expect(batches.length).toBeLessThanOrEqual(2);
    expect(batches.every((b) => !b.consistent)).toBe(true);
    expect([...ids].every((id) => reads.byId.get(id) === 1)).toBe(true);
    expect(await result()).toBe(xs.reduce((a, x) => a + 2 * x, 0));
    await runtime.close();
  });

  it("reads again, consistently, a record an eventually consistent read found not yet finished", async () => {
    const { store, reads, makeStale } = laterStore();
    const xs = Array.from({ length: 200 }, (_, i) => i);
    const { runtime, queue, executions } = await finished(store, ...xs);
    const staleIds = executions.filter((_, i) => i % 10 === 3).map((e) => e.id);
    staleIds.forEach(makeStale);
    const result = await joined(runtime, store, queue, executions, reads);
    expect(await result()).toBe(xs.reduce((a, x) => a + 2 * x, 0));
    const again = reads.batches.filter((b) => b.consistent && b.ids.some((id) => staleIds.includes(id)));
    expect(again.flatMap((b) => b.ids).sort()).toEqual([...staleIds].sort());
    expect(reads.gets.filter((id) => staleIds.includes(id))).toEqual([]);
    await runtime.close();
  });
});
