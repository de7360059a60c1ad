/**
 * `debounce`, `cache` and `memo` on the AWS code path: the DynamoDB store over DynamoDB
 * Local, messages delivered by the test (each one the worker's `Runtime.process`, as the
 * task handler calls it), twice where a duplicate delivery could do harm, on a clock the
 * test moves. Also what each costs in DynamoDB requests.
 */
import { describe, expect, it } from "vitest";
import { task, workflow } from "floe";
import { newRequestCounts, type RequestCounts } from "../../sdk/aws/request-counter.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import type { TaskMessage } from "../../sdk/engine/model.ts";
import type { Clock, TaskQueue } from "../../sdk/engine/ports.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";

const stores = useDynamoDbLocal();

/** A queue that keeps what was sent, with the time each message is due. */
class HeldQueue implements TaskQueue {
  readonly sent: { message: TaskMessage; dueAt: number }[] = [];
  constructor(private readonly clock: Clock) {}
  async send(messages: readonly TaskMessage[], delayMs = 0): Promise<void> {
    for (const message of messages) this.sent.push({ message, dueAt: this.clock.now() + delayMs });
  }
}

async function setup(counts?: RequestCounts) {
  let now = 1_800_000_000_000;
  const clock: Clock & { advance(ms: number): void } = { now: () => now, schedule: () => () => undefined, advance: (ms) => (now += ms) };
  const store = await stores(counts === undefined ? {} : { counts });
  const queue = new HeldQueue(clock);
  const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, suspendAfterMs: 0 });
  /** Delivers every message due by now, each `times` times (a duplicate delivery is dropped at claim), until none is left. */
  const deliver = async (times = 1) => {
    for (let round = 0; round < 20; round += 1) {
      const due = queue.sent.filter((s) => s.dueAt <= now);
      if (due.length === 0) return;
      queue.sent.splice(0, queue.sent.length, ...queue.sent.filter((s) => s.dueAt > now));
      for (const { message } of due) for (let i = 0; i < times; i += 1) await runtime.process(message);
    }
  };
  return { clock, store, queue, runtime, deliver };
}

const saved: string[] = [];
const save = task("rua_save", { debounce: { periodMs: 5_000, key: (doc: { id: string; text: string }) => doc.id } }, async (doc: { id: string; text: string }) => {
  saved.push(doc.text);
  return `saved ${doc.text}`;
});
const editor = workflow("rua_editor", async (text: string) => save({ id: "d1", text }));

let computed = 0;
const rate = task("rua_rate", { cache: { ttlMs: 60_000, key: (pair: string) => pair } }, async (pair: string) => {
  computed += 1;
  return { pair, rate: 1.25 };
});

let loads = 0;
const load = task("rua_load", { memo: true }, async (id: string) => {
  loads += 1;
  return `user ${id}`;
});
const twice = workflow("rua_twice", async (id: string) => {
  const a = load.submit(id);
  const b = load.submit(id);
  return [a.id === b.id, await a.result(), await b.result()];
});

describe("debounce on DynamoDB", () => {
  it("runs the window's last call once under duplicate deliveries, and callers in a run follow it", async () => {
    const { clock, runtime, deliver, queue } = await setup();
    saved.length = 0;
    const first = runtime.submit(save, { id: "d1", text: "a" });
    await first.created;
    clock.advance(2_000);
    // A call inside a run: the workflow suspends on it (suspendAfterMs 0) and is re-run once it finished.
    const run = runtime.submit(editor, "ab");
    await run.created;
    await deliver(2);
    clock.advance(2_000);
    const last = runtime.submit(save, { id: "d1", text: "abc" });
    await last.created;
    // Every message so far comes early or for a superseded call: twice each, nothing runs.
    await deliver(2);
    expect(saved).toEqual([]);
    clock.advance(5_000);
    await deliver(2);
    expect(saved).toEqual(["abc"]);
    expect(await first.result()).toBe("saved abc");
    expect(await last.result()).toBe("saved abc");
    expect(await run.result()).toBe("saved abc");
    expect(await runtime.getExecution(first.id)).toMatchObject({ state: "completed", debounced: true });
    expect(queue.sent).toEqual([]);
    // A later call opens a new window.
    await runtime.submit(save, { id: "d1", text: "z" }).created;
    clock.advance(5_000);
    await deliver();
    expect(saved).toEqual(["abc", "z"]);
    await runtime.close();
  });

  it("costs a few requests a call", async () => {
    const counts = newRequestCounts();
    const { runtime } = await setup(counts);
    await runtime.submit(save, { id: "d2", text: "x" }).created;
    const before = new Map(counts.requests);
    await runtime.submit(save, { id: "d2", text: "xy" }).created;
    const added = [...counts.requests].map(([name, n]) => [name, n - (before.get(name) ?? 0)] as const).filter(([, n]) => n > 0);
    // Read the window, put the record, swap the window, supersede the earlier call.
    expect(Object.fromEntries(added)).toEqual({ "DynamoDB:GetItem": 1, "DynamoDB:PutItem": 2, "DynamoDB:UpdateItem": 1 });
    await runtime.close();
  });
});

describe("cache on DynamoDB", () => {
  it("reuses a completed result within the TTL with two reads and one put, marked cachedFrom its source", async () => {
    const counts = newRequestCounts();
    const { clock, runtime, deliver } = await setup(counts);
    computed = 0;
    const source = runtime.submit(rate, "EURUSD");
    await source.created;
    await deliver(2);
    expect(await source.result()).toEqual({ pair: "EURUSD", rate: 1.25 });
    const entry = await stores.item({ pk: `U#${cryptoIds.derive(["floe:cache", "rua_rate", "key:EURUSD"])}`, sk: "U" });
    expect(entry).toMatchObject({ type: "reuse", executionId: source.id, until: clock.now() + 60_000, expiresAt: expect.any(Number) });
    clock.advance(30_000);
    const before = new Map(counts.requests);
    const hit = runtime.submit(rate, "EURUSD");
    await hit.created;
    const added = [...counts.requests].map(([name, n]) => [name, n - (before.get(name) ?? 0)] as const).filter(([, n]) => n > 0);
    // The entry's read, the completed record's put, and the read of its links (a downstream may have linked to it already).
    expect(Object.fromEntries(added)).toEqual({ "DynamoDB:GetItem": 2, "DynamoDB:PutItem": 1 });
    expect(await hit.result()).toEqual({ pair: "EURUSD", rate: 1.25 });
    expect(await runtime.getExecution(hit.id)).toMatchObject({ state: "completed", cachedFrom: source.id });
    expect(computed).toBe(1);
    clock.advance(30_000);
    const miss = runtime.submit(rate, "EURUSD");
    await miss.created;
    await deliver();
    expect(await miss.result()).toEqual({ pair: "EURUSD", rate: 1.25 });
    expect(computed).toBe(2);
    await runtime.close();
  });
});

describe("memo on DynamoDB", () => {
  it("shares one execution per identical call within a run, not across runs", async () => {
    const { runtime, deliver } = await setup();
    loads = 0;
    const one = runtime.submit(twice, "u1");
    await one.created;
    await deliver(2);
    expect(await one.result()).toEqual([true, "user u1", "user u1"]);
    expect(loads).toBe(1);
    const two = runtime.submit(twice, "u1");
    await two.created;
    await deliver();
    expect(await two.result()).toEqual([true, "user u1", "user u1"]);
    expect(loads).toBe(2);
    await runtime.close();
  });
});
