/**
 * Wait cycles between suspended executions (RELIABILITY T25), at the engine, written once
 * and run over each execution store: the in-memory one and DynamoDB Local.
 */
import { describe, expect, it } from "vitest";
import type { ExecutionEngine } from "../sdk/engine/execution-engine.ts";
import { State, WaitMode } from "../sdk/engine/model.ts";
import type { ExecutionStore } from "../sdk/engine/ports.ts";
import { CYCLE_HOPS } from "../sdk/engine/wait-cycle.ts";
import { runToCompletion, setupWith, spec, type RecordingQueue, type StoreFactory } from "./engine-scenarios.ts";

/**
 * Counts the reads the engine makes of a store (`edgesFrom` and `getMany` calls), and fails
 * the next `failing.edgesFrom` ones.
 */
function counting(store: ExecutionStore) {
  const reads = { edgesFrom: 0, getMany: 0 };
  const failing = { edgesFrom: 0 };
  const counted = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (property !== "edgesFrom" && property !== "getMany") return method;
      return (...args: unknown[]) => {
        reads[property] += 1;
        if (property === "edgesFrom" && failing.edgesFrom > 0) {
          failing.edgesFrom -= 1;
          return Promise.reject(new Error("injected: the query failed"));
        }
        return method(...args);
      };
    },
  });
  return { store: counted, reads, failing };
}

/** The text of the error `id` failed with. */
async function errorOf(engine: ExecutionEngine, store: ExecutionStore, id: string): Promise<string | undefined> {
  const error = (await store.get(id))?.error;
  return error === undefined ? undefined : engine.read(error);
}

/** Claims the last message sent for `id` and ends that attempt suspended on `on`. */
async function suspend(engine: ExecutionEngine, queue: RecordingQueue, id: string, on: string[], mode: WaitMode = WaitMode.All): Promise<void> {
  const sent = queue.sent.findLast((s) => s.message.executionId === id);
  if (sent === undefined) throw new Error(`${id} was never queued`);
  const claimed = await engine.claim(sent.message);
  if (claimed === undefined) throw new Error(`${id} could not be claimed`);
  await engine.finish(claimed, { type: "suspended", on, mode });
}

/** The wait-cycle scenarios over a store. */
export function waitCycleScenarios(name: string, makeStore: StoreFactory): void {
  describe(`wait cycles (T25) over ${name}`, () => {
    it("fails the second of two executions awaiting each other with FLOE_WAIT_CYCLE, which queues the first again", async () => {
      const { engine, queue, store } = await setupWith(makeStore);
      for (const id of ["a", "b"]) await engine.register(spec(id));
      await suspend(engine, queue, "a", ["b"]);
      expect((await store.get("a"))?.state).toBe(State.Suspended);
      await suspend(engine, queue, "b", ["a"]);
      const b = await store.get("b");
      expect([b?.state, b?.attempt]).toEqual([State.Failed, 1]);
      expect(await errorOf(engine, store, "b")).toBe(
        `FloeError: execution b (t) waits in a cycle (b (t) → a (t) → b (t)): each awaits the result of the next, so none can finish; ` +
          "make one of them stop awaiting the next (pass it a value, or await both from the execution that submitted them)",
      );
      // The failure released a, which runs again and sees it.
      expect((await store.get("a"))?.state).toBe(State.Queued);
      expect(queue.ids().filter((id) => id === "a")).toHaveLength(2);
    });

    it("finds a cycle of three, and one through an argument an execution waits for", async () => {
      const { engine, queue, store } = await setupWith(makeStore);
      for (const id of ["a", "b", "c"]) await engine.register(spec(id));
      await suspend(engine, queue, "a", ["b"]);
      await suspend(engine, queue, "b", ["c"]);
      await suspend(engine, queue, "c", ["a"]);
      expect(await errorOf(engine, store, "c")).toContain("(c (t) → a (t) → b (t) → c (t))");
      expect((await store.get("b"))?.state).toBe(State.Queued);
      expect((await store.get("a"))?.state).toBe(State.Suspended);
      // p awaits w, which waits for x as an argument; x awaits p.
      await engine.register(spec("p"));
      await engine.register(spec("x"));
      await engine.register(spec("w", ["x"]));
      await suspend(engine, queue, "p", ["w"]);
      await suspend(engine, queue, "x", ["p"]);
      expect(await errorOf(engine, store, "x")).toContain("(x (t) → p (t) → w (t) → x (t))");
      expect((await store.get("w"))?.state).toBe(State.Queued);
    });

    it("fails an execution awaiting itself without a walk", async () => {
      const { options } = await setupWith(makeStore);
      const { store, reads } = counting(options.store);
      const { engine, queue } = await setupWith(() => store);
      await engine.register(spec("s"));
      await suspend(engine, queue, "s", ["s"]);
      // The one edgesFrom is the failure's release of its dependents.
      expect(reads).toEqual({ edgesFrom: 1, getMany: 0 });
      expect((await store.get("s"))?.state).toBe(State.Failed);
      expect(await errorOf(engine, store, "s")).toBe(
        "FloeError: execution s (t) awaits its own result, which it can never have; await another execution, or return a value",
      );
    });

    it("reports no cycle through a wait for any that another execution can end, nor over a stale edge", async () => {
      const { engine, queue, store } = await setupWith(makeStore);
      for (const id of ["p", "c", "x", "y", "z"]) await engine.register(spec(id));
      // p waits for any of c and x; c awaits p: x can still release p.
      await suspend(engine, queue, "p", ["c", "x"], WaitMode.Any);
      await suspend(engine, queue, "c", ["p"]);
      expect([(await store.get("p"))?.state, (await store.get("c"))?.state]).toEqual([State.Suspended, State.Suspended]);
      await runToCompletion(engine, queue, "x");
      expect((await store.get("p"))?.state).toBe(State.Queued);
      // q waits for any of p and y, and y releases it: p's edge to q stays open, in a
      // generation q has left. q then awaits z, and p awaits q: no cycle.
      await engine.register(spec("q"));
      await suspend(engine, queue, "q", ["p", "y"], WaitMode.Any);
      await runToCompletion(engine, queue, "y");
      await suspend(engine, queue, "q", ["z"]);
      await suspend(engine, queue, "p", ["q"]);
      expect([(await store.get("p"))?.state, (await store.get("q"))?.state]).toEqual([State.Suspended, State.Suspended]);
    });

    it("arms the suspension when the walk's read fails, and the execution resumes", async () => {
      const { options } = await setupWith(makeStore);
      const { store, failing } = counting(options.store);
      const { engine, queue } = await setupWith(() => store);
      for (const id of ["p", "c"]) await engine.register(spec(id));
      failing.edgesFrom = 1;
      await suspend(engine, queue, "p", ["c"]);
      expect(failing.edgesFrom).toBe(0);
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, guarded: false, pending: 1 });
      await runToCompletion(engine, queue, "c");
      expect((await store.get("p"))?.state).toBe(State.Queued);
    });

    it("costs a root awaiting its children one query, and the deepest of a chain of awaits at most two per hop", async () => {
      const { options } = await setupWith(makeStore);
      const { store, reads } = counting(options.store);
      const { engine, queue } = await setupWith(() => store);
      const children = Array.from({ length: 20 }, (_, i) => `c${i}`);
      for (const id of ["root", ...children]) await engine.register(spec(id));
      Object.assign(reads, { edgesFrom: 0, getMany: 0 });
      await suspend(engine, queue, "root", children);
      // The walk's one edgesFrom, and arm's one read of the children.
      expect(reads).toEqual({ edgesFrom: 1, getMany: 1 });
      // A chain: each awaits the next, down to a depth of 20.
      const depth = 20;
      const chain = Array.from({ length: depth }, (_, i) => `d${i}`);
      for (const id of chain) await engine.register(spec(id));
      for (let i = 0; i < depth - 1; i += 1) await suspend(engine, queue, chain[i]!, [chain[i + 1]!]);
      Object.assign(reads, { edgesFrom: 0, getMany: 0 });
      await suspend(engine, queue, chain[depth - 1]!, ["c0"]);
      expect(reads).toEqual({ edgesFrom: CYCLE_HOPS, getMany: CYCLE_HOPS + 1 });
      expect((await store.get(chain[depth - 1]!))?.state).toBe(State.Suspended);
    });
  });
}
