/**
 * `result()` over a store that answers later (DynamoDB's) reads the record once: a second
 * read of each result was a read unit per task thrown away, and a failure of the first
 * read surfaced as nobody's rejection.
 */
import { describe, expect, it } from "vitest";
import { task } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import type { ExecutionStore } from "../../sdk/engine/ports.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";

const value = task("rr_value", async (x: number) => x * 2);

/** A memory store whose reads answer on a later turn, as DynamoDB's do, counted per id. */
function laterStore(): { store: ExecutionStore; reads: Map<string, number>; failNext: (id: string) => void } {
  const inner = new MemoryExecutionStore();
  const reads = new Map<string, number>();
  const failing = new Set<string>();
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === "get") {
        return async (id: string) => {
          reads.set(id, (reads.get(id) ?? 0) + 1);
          await Promise.resolve();
          if (failing.delete(id)) throw new Error(`reading ${id} failed`);
          return target.get(id);
        };
      }
      const member = Reflect.get(target, property, receiver) as unknown;
      return typeof member === "function" ? (member as (...args: unknown[]) => unknown).bind(target) : member;
    },
  });
  return { store, reads, failNext: (id) => failing.add(id) };
}

/** A runtime over `store` on which `value(x)` has run to completion. */
async function finished(store: ExecutionStore, x: number): Promise<{ runtime: Runtime; id: string }> {
  const queue = new MemoryTaskQueue(systemClock);
  const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds });
  const execution = runtime.submit(value, x);
  await execution.created;
  for (let m = queue.take(); m !== undefined; m = queue.take()) await runtime.process(m);
  return { runtime, id: execution.id };
}

describe("result() over a store that answers later", () => {
  it("reads a finished execution's record once", async () => {
    const { store, reads } = laterStore();
    const { runtime, id } = await finished(store, 21);
    reads.clear();
    expect(await runtime.reference(id).result()).toBe(42);
    expect(reads.get(id)).toBe(1);
    await runtime.close();
  });

  it("rejects result() with the first read's failure, which no one else sees", async () => {
    const { store, failNext } = laterStore();
    const { runtime, id } = await finished(store, 1);
    failNext(id);
    await expect(runtime.reference(id).result()).rejects.toThrow(`reading ${id} failed`);
    await runtime.close();
  });
});
