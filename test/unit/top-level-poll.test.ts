/**
 * A runtime that runs no task (a function connected to an orchestrator) learns of a finish
 * only by reading the store: its top-level waits poll it, backing off to a second.
 */
import { describe, expect, it } from "vitest";
import { task } from "floe";
import { CONNECTED_POLL } from "../../sdk/api/connected.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { ManualClock } from "../support/sim-sqs.ts";

const double = task("poll_double", async (n: number) => n * 2);

/** A client runtime that polls and a worker runtime over one store, the reads of the client counted. */
function setup() {
  const clock = new ManualClock();
  const store = new MemoryExecutionStore();
  const queue = new MemoryTaskQueue(clock);
  const ports = { store, queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds };
  const reads = { count: 0 };
  const counted = new Proxy(store, {
    get(target, key) {
      if (key === "get") return (id: string) => ((reads.count += 1), target.get(id));
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const client = new Runtime({ ...ports, store: counted, pollTopLevel: CONNECTED_POLL });
  const worker = new Runtime(ports);
  return { clock, queue, client, worker, reads };
}

const turns = async () => {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe("top-level waits of a runtime that runs no task", () => {
  it("see a finish written by another runtime at the next poll", async () => {
    const { clock, queue, client, worker } = setup();
    const run = client.submit(double, 21);
    let settled: unknown;
    void run.result().then((value) => (settled = value));
    await turns();
    const message = queue.take();
    if (message === undefined) throw new Error("the submission sent no message");
    await worker.process(message);
    await turns();
    expect(settled).toBeUndefined();
    clock.advance(CONNECTED_POLL.firstMs);
    await turns();
    expect(settled).toBe(42);
  });

  it("read the store after 250 ms, then at doubling intervals up to a second", async () => {
    const { clock, client, reads } = setup();
    const run = client.submit(double, 1);
    void run.result().catch(() => undefined);
    await turns();
    const at = (): number => reads.count;
    const start = at();
    const polls: number[] = [];
    for (const step of [250, 500, 1000, 1000, 1000]) {
      clock.advance(step - 1);
      await turns();
      expect(at()).toBe(start + polls.length);
      clock.advance(1);
      await turns();
      polls.push(step);
      expect(at()).toBe(start + polls.length);
    }
    await client.close();
  });
});
