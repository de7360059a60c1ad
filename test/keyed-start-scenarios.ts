/**
 * Keyed starts (the HTTP API's `Idempotency-Key`), written once over a store: run on the
 * in-memory store by `test/unit/` and on DynamoDB Local by `test/aws/` (T15, T22).
 */
import { describe, expect, it } from "vitest";
import { workflow } from "floe";
import { decodeValue } from "../sdk/codec/codec.ts";
import type { TaskMessage } from "../sdk/engine/model.ts";
import type { Clock, ExecutionStore, IdSource, TaskQueue } from "../sdk/engine/ports.ts";
import { MemoryBlobStore } from "../sdk/embedded/memory-blob-store.ts";
import { errorCode } from "../sdk/errors.ts";
import { Runtime } from "../sdk/runtime/runtime.ts";
import { cryptoIds, keyedIds } from "../sdk/runtime/system.ts";
import { FaultyStore, InjectedFault } from "./faults/faulty-store.ts";

/** The arguments each run of {@link keyedEcho} was given, in order. */
export const ran: string[] = [];
/** A workflow that records what it was called with. */
export const keyedEcho = workflow("keyed_echo", async (text: string) => {
  ran.push(text);
  return text.length;
});

/** Makes a fresh, empty store for one scenario. */
export type KeyedStoreFactory = () => ExecutionStore | Promise<ExecutionStore>;

/** A queue that records what was sent, so each test delivers it itself. */
class RecordingQueue implements TaskQueue {
  readonly sent: TaskMessage[] = [];
  async send(messages: readonly TaskMessage[]): Promise<void> {
    this.sent.push(...messages);
  }
}

/** A blob store that counts its writes. */
class CountingBlobStore extends MemoryBlobStore {
  puts = 0;
  override put(key: string, data: string): void {
    this.puts += 1;
    super.put(key, data);
  }
}

const writes = new Set(["create", "update", "addEdges", "release"]);

/** `store`, counting the calls of its methods that write execution records or edges. */
function counting(store: ExecutionStore): { store: ExecutionStore; writes: () => number } {
  let count = 0;
  const proxy = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (typeof property === "string" && writes.has(property)) count += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, writes: () => count };
}

/** Two arguments over 32 KB, so they are kept in the blob store (T22). */
const large = (fill: string) => fill.repeat(40_000);

export function keyedStartScenarios(name: string, makeStore: KeyedStoreFactory): void {
  async function setup(options: { store?: ExecutionStore; ids?: IdSource } = {}) {
    let now = 1_700_000_000_000;
    const clock: Clock = { now: () => (now += 1), schedule: () => () => undefined };
    const counted = counting(options.store ?? (await makeStore()));
    const queue = new RecordingQueue();
    const blobs = new CountingBlobStore();
    const runtime = new Runtime({ store: counted.store, queue, blobs, clock, ids: options.ids ?? cryptoIds });
    const start = async (args: unknown[], key: string, caller = "iam:arn:aws:iam::1:user/ada") =>
      (await runtime.submitKeyed(keyedEcho.definition, args, { key, caller })).id;
    /** Delivers every message sent so far (and again on each call: duplicates are dropped at claim). */
    const deliver = async () => {
      for (const message of [...queue.sent]) await runtime.process(message);
    };
    const argsOf = async (id: string) => {
      const record = await runtime.getExecution(id);
      if (record === undefined) throw new Error(`${id} does not exist`);
      return { payload: record.args, value: decodeValue(await runtime.engine.read(record.args)) };
    };
    return { runtime, store: counted.store, writes: counted.writes, queue, blobs, start, deliver, argsOf };
  }

  describe(`keyed starts over ${name}`, () => {
    it("refuses the same key with other arguments over 32 KB, writing and sending nothing; the first run keeps its own (T22)", async () => {
      ran.length = 0;
      const { store, writes, queue, blobs, start, deliver, argsOf } = await setup();
      const first = await start([large("a")], "order-1");
      const before = { writes: writes(), sent: queue.sent.length, blobs: blobs.puts, args: await argsOf(first) };
      expect(before.args.payload).toHaveProperty("blob");

      const refused = await start([large("b")], "order-1").catch((error: unknown) => error);
      expect(errorCode(refused)).toBe("FLOE_IDEMPOTENCY_CONFLICT");
      expect((refused as Error).message).toContain('"order-1" was already used for "keyed_echo"');
      expect({ writes: writes(), sent: queue.sent.length, blobs: blobs.puts }).toEqual({ writes: before.writes, sent: before.sent, blobs: before.blobs });
      expect(await argsOf(first)).toEqual(before.args);
      expect(await store.runs({})).toHaveLength(1);

      // The key still maps to the first arguments, and the run ran with them.
      expect(await start([large("a")], "order-1")).toBe(first);
      await deliver();
      expect(ran).toEqual([large("a")]);
    });

    it("gives 20 concurrent identical starts one execution, which runs once (T15)", async () => {
      ran.length = 0;
      const { store, start, deliver } = await setup();
      const ids = await Promise.all(Array.from({ length: 20 }, () => start(["same"], "order-2")));
      expect(new Set(ids).size).toBe(1);
      expect((await store.runs({})).map((r) => r.id)).toEqual([ids[0]]);
      await deliver();
      expect(ran).toEqual(["same"]);
      const refused = await start(["other"], "order-2").catch((error: unknown) => error);
      expect(errorCode(refused)).toBe("FLOE_IDEMPOTENCY_CONFLICT");
    });

    it("keeps each caller's keys apart: one key, two callers, two runs, whatever their arguments", async () => {
      ran.length = 0;
      const { store, start, deliver } = await setup();
      const ada = await start(["ada's"], "order-3", "iam:arn:aws:iam::1:user/ada");
      const bob = await start(["bob's"], "order-3", "iam:arn:aws:iam::1:user/bob");
      const anonymous = await start(["nobody's"], "order-3", "anonymous");
      expect(new Set([ada, bob, anonymous]).size).toBe(3);
      expect(await start(["ada's"], "order-3", "iam:arn:aws:iam::1:user/ada")).toBe(ada);
      expect(await store.runs({})).toHaveLength(3);
      await deliver();
      expect(ran.sort()).toEqual(["ada's", "bob's", "nobody's"]);
    });

    it("gives a key a random execution id, which nobody can compute from the key", async () => {
      const caller = "jwt:[\"https://issuer\",\"user-1\"]";
      const one = await (await setup()).start(["x"], "order-4", caller);
      const other = await (await setup()).start(["x"], "order-4", caller);
      // Two stores (two deployments, or one after the key expired): nothing ties the id to the key.
      expect(one).not.toBe(other);
      for (const ids of [cryptoIds, keyedIds()]) {
        expect([one, other]).not.toContain(ids.derive(["idempotency-key", "keyed_echo", "order-4"]));
        expect([one, other]).not.toContain(ids.derive(["idempotency-key", JSON.stringify([caller, "keyed_echo", "order-4"])]));
      }
    });

    it("finishes a start that died after the key was written: the repeat registers the run, which runs once", async () => {
      ran.length = 0;
      const faulty = new FaultyStore(await makeStore());
      const { store, start, deliver } = await setup({ store: faulty });
      // The registration fails before writing anything (the API's Lambda died after the key's put).
      faulty.inject({ method: "create", mode: "before", times: 1 });
      await expect(start([large("c")], "order-5")).rejects.toBeInstanceOf(InjectedFault);
      expect(await store.runs({})).toEqual([]);
      const id = await start([large("c")], "order-5");
      expect(await start([large("c")], "order-5")).toBe(id);
      await deliver();
      await deliver();
      expect(ran).toEqual([large("c")]);
      expect(await store.runs({})).toHaveLength(1);
      // The key's put was applied but its answer lost: the repeat finds the key and starts the run.
      faulty.inject({ method: "putIdempotencyRecord", mode: "after", times: 1 });
      await expect(start(["d"], "order-6")).rejects.toBeInstanceOf(InjectedFault);
      const other = await start(["d"], "order-6");
      await expect(start(["e"], "order-6")).rejects.toThrow(/already used/);
      await deliver();
      expect(ran).toEqual([large("c"), "d"]);
      expect((await store.get(other))?.state).toBe("completed");
    });

    it("validates the arguments before writing the key", async () => {
      const { store, start } = await setup();
      const bad = await start([() => 1], "order-7").catch((error: unknown) => error);
      expect(errorCode(bad)).toBe("FLOE_NOT_SERIALIZABLE");
      // Had the refused start written the key, these arguments would now conflict.
      expect(await start(["fine"], "order-7")).toEqual(expect.any(String));
      expect(await store.runs({})).toHaveLength(1);
    });
  });
}
