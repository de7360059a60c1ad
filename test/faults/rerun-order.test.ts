/**
 * A re-run over a store whose writes answer late and in any order, as on the AWS path: a
 * restarted `wait:` downstream registers once its restarted upstream's registration has
 * landed, so it never reads the upstream's failure from before the re-run and starts early.
 */
import { describe, expect, it } from "vitest";
import { State } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import type { TaskMessage } from "../../sdk/engine/model.ts";
import type { TaskQueue } from "../../sdk/engine/ports.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { counted, unique } from "../conformance/probes.ts";
import { failing, rrFanOut } from "../rerun/tasks.ts";
import { ManualClock } from "../support/sim-sqs.ts";
import { FaultyStore } from "./faulty-store.ts";

/** Keeps what was sent, for the test to deliver. */
class Kept implements TaskQueue {
  readonly messages: TaskMessage[] = [];
  send(messages: readonly TaskMessage[]): void {
    this.messages.push(...messages);
  }
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe("re-run ordering on a store that answers late", () => {
  it("starts a restarted wait: downstream only after its restarted upstream, when the upstream's restart lands late", async () => {
    const memory = new MemoryExecutionStore();
    const store = new FaultyStore(memory);
    const queue = new Kept();
    const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock: new ManualClock(), ids: cryptoIds, suspendAfterMs: 0 });
    const deliver = async () => {
      for (let n = 0; queue.messages.length > 0 && n < 100; n += 1) await runtime.process(queue.messages.shift() as TaskMessage);
    };
    const key = unique("order");
    failing.add(`${key}:0`);
    const run = runtime.submit(rrFanOut, key, 1);
    await run.created;
    await deliver();
    expect(memory.get(run.id)?.state).toBe(State.Failed);
    // The leaf failed and its double ran on the failure.
    expect([counted(`${key}:leaf:0`), counted(`${key}:double`)]).toEqual([1, 1]);
    failing.delete(`${key}:0`);

    // Every write to the leaf answers many turns late: its restart lands after the double's
    // registration would have read it.
    const leaf = memory.executions(run.id).find((r) => r.taskName === "rr_leaf");
    expect(leaf?.state).toBe(State.Failed);
    const update = store.update.bind(store);
    store.update = async (id, ...rest) => {
      if (id === leaf?.id) await turns(20);
      return update(id, ...rest);
    };
    await runtime.rerun(run.id);
    await deliver();
    expect(memory.get(run.id)).toMatchObject({ state: State.Completed });
    // Once more each: the double after the leaf, not once early on the leaf's old failure.
    expect([counted(`${key}:leaf:0`), counted(`${key}:double`)]).toEqual([2, 2]);
    await runtime.close();
  });
});
