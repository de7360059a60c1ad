/**
 * T23: cancel from another process than the worker running the attempt. Two runtimes over
 * one store, as the API's Lambda and a worker's: the worker runs the attempt, the API
 * cancels. Written once, run over the in-memory store and over DynamoDB Local.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { task, taskContext } from "../sdk/index.ts";
import { State, type TaskMessage } from "../sdk/engine/model.ts";
import type { ExecutionStore, TaskQueue } from "../sdk/engine/ports.ts";
import { MemoryBlobStore } from "../sdk/embedded/memory-blob-store.ts";
import { Runtime } from "../sdk/runtime/runtime.ts";
import { cryptoIds } from "../sdk/runtime/system.ts";
import { ManualClock } from "./support/sim-sqs.ts";

/** Makes a fresh, empty store for one scenario. */
export type StoreFactory = () => ExecutionStore | Promise<ExecutionStore>;

const pollMs = 5_000;

/** A queue that keeps what was sent: the test delivers each message itself. */
class RecordingQueue implements TaskQueue {
  readonly sent: TaskMessage[] = [];
  send(messages: readonly TaskMessage[]): void {
    this.sent.push(...messages);
  }
  of(id: string): TaskMessage[] {
    return this.sent.filter((m) => m.executionId === id);
  }
}

const signals = new Map<string, AbortSignal>();
const latches = new Map<string, () => void>();
const childRuns: string[] = [];

function latch(key: string): Promise<void> {
  return new Promise((resolve) => latches.set(key, resolve));
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

const child = task("cx_child", async (key: string) => {
  childRuns.push(key);
  return key;
});

/**
 * Submits a child before the latch opens when `when` is "before", after it when "after";
 * then runs until its signal fires.
 */
const watched = task("cx_watched", async (key: string, when: "never" | "before" | "after") => {
  signals.set(key, taskContext()!.signal);
  if (when === "before") child.submit(key);
  await latch(key);
  if (when === "after") child.submit(key);
  await aborted(taskContext()!.signal);
  return "ended by its signal";
});

/** The scenarios of T23 over a store. */
export function cancelScenarios(name: string, makeStore: StoreFactory): void {
  describe(`cancel from another process, over ${name} (T23)`, () => {
    const runtimes: Runtime[] = [];
    afterEach(async () => {
      for (const runtime of runtimes.splice(0)) await runtime.close();
    });

    async function setup(options: { apiStore?: (store: ExecutionStore) => ExecutionStore } = {}) {
      const store = await makeStore();
      const clock = new ManualClock();
      const queue = new RecordingQueue();
      const blobs = new MemoryBlobStore();
      const common = { queue, blobs, clock, ids: cryptoIds, inlineFanIn: 8 };
      const worker = new Runtime({ ...common, store, cancelPollMs: pollMs });
      const api = new Runtime({ ...common, store: options.apiStore?.(store) ?? store });
      runtimes.push(worker, api);
      const start = async (key: string, when: "never" | "before" | "after") => {
        const run = api.submit(watched, key, when);
        await api.records([run]);
        const processing = worker.process(queue.of(run.id)[0]!);
        await vi.waitFor(() => expect(signals.has(key)).toBe(true));
        return { run, processing, signal: signals.get(key)! };
      };
      return { store, clock, queue, worker, api, start };
    }

    it("fires the running attempt's signal once its clock passes the poll interval", async () => {
      const { clock, api, start } = await setup();
      const { run, processing, signal } = await start(`signal-${name}`, "never");
      await run.cancel();
      expect((await api.getExecution(run.id))?.state).toBe(State.Cancelled);
      clock.advance(pollMs - 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(signal.aborted).toBe(false);
      clock.advance(1);
      await vi.waitFor(() => expect(signal.aborted).toBe(true));
      expect(signal.reason).toMatchObject({ code: "FLOE_CANCELLED" });
      await processing;
      expect((await api.getExecution(run.id))?.state).toBe(State.Cancelled);
    });

    it("cancels a child submitted after the cancel, before any poll, and never runs its body", async () => {
      const { queue, worker, api, start } = await setup();
      const key = `after-${name}`;
      const { run, processing, signal } = await start(key, "after");
      await run.cancel();
      latches.get(key)!();
      // The submission's check finds the parent cancelled: no clock advance is needed.
      const children = async () => (await api.getRun(run.id))!.executions.filter((e) => e.parentId === run.id);
      await vi.waitFor(async () => expect((await children()).map((c) => c.state)).toEqual([State.Cancelled]));
      await processing;
      expect(signal.aborted).toBe(true);
      for (const message of queue.sent.filter((m) => m.executionId !== run.id)) await worker.process(message);
      expect(childRuns).not.toContain(key);
    });

    it("cancels a child the cancel's sweep could not see, once the attempt learns of the cancellation", async () => {
      // The API's sweep reads the run through an index that lags (as a DynamoDB global
      // secondary index may): the child submitted just before the cancel is not in it.
      const { clock, queue, worker, api, start } = await setup({
        apiStore: (store) =>
          new Proxy(store, {
            get(target, property) {
              if (property !== "executions") return bind(target, property);
              return async (runId: string) => (await target.executions(runId)).filter((e) => e.parentId === undefined);
            },
          }),
      });
      const key = `hidden-${name}`;
      const { run, processing, signal } = await start(key, "before");
      await vi.waitFor(async () => expect((await api.getRun(run.id))?.executions).toHaveLength(2));
      await run.cancel();
      const childId = (await api.getRun(run.id))!.executions.find((e) => e.parentId === run.id)!.id;
      expect((await api.getExecution(childId))?.state).toBe(State.Queued);
      clock.advance(pollMs);
      await processing;
      expect(signal.aborted).toBe(true);
      expect((await api.getExecution(childId))?.state).toBe(State.Cancelled);
      for (const message of queue.of(childId)) await worker.process(message);
      expect(childRuns).not.toContain(key);
    });
  });
}

/** A property of `target`, its methods bound to it (for proxies over stores with private fields). */
function bind(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property);
  return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}
