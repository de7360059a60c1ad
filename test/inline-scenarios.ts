/**
 * The engine's registration, take-over and completion of `inline` executions (run by their
 * caller in its own attempt), written once over a store and run on the in-memory store and
 * on DynamoDB Local.
 */
import { describe, expect, it } from "vitest";
import { State, WaitMode } from "../sdk/engine/model.ts";
import { setupWith, spec, type StoreFactory } from "./engine-scenarios.ts";

/** The inline scenarios over the stores `makeStore` makes. */
export function inlineScenarios(name: string, makeStore: StoreFactory): void {
  describe(`inline executions over ${name}`, () => {
    it("creates an inline execution running, in the shape of any other record, and sends nothing", async () => {
      const { engine, queue, store } = await setupWith(makeStore);
      const queued = await engine.register(spec("usual"));
      const { record, created } = await engine.startInline({ ...spec("inline"), parentId: "usual" });
      expect(created).toBe(true);
      expect(Object.keys(record).sort()).toEqual(Object.keys(queued).sort());
      expect(record).toMatchObject({ state: State.Running, attempt: 1, generation: 1, pending: 0, guarded: false, parentId: "usual" });
      expect(record.startedAt).toBe(record.createdAt);
      expect(record.history).toEqual([{ state: State.Running, at: record.startedAt, attempt: 1 }]);
      expect(await store.get("inline")).toMatchObject({ state: State.Running, attempt: 1, history: record.history });
      expect(queue.ids()).toEqual(["usual"]);
    });

    it("writes a short inline execution once, completed, unless another run of its caller wrote it first", async () => {
      const { engine, store } = await setupWith(makeStore);
      const record = await engine.inlineRecord(spec("once"));
      expect(await store.get("once")).toBeUndefined();
      expect(await engine.completeInline(record, "[1]", undefined, false)).toBe(true);
      expect(await store.get("once")).toMatchObject({ state: State.Completed, result: { inline: "[1]" } });
      expect((await store.get("once"))?.history.map((h) => h.state)).toEqual([State.Running, State.Completed]);
      // A runner that never wrote its record finds another's: it records nothing.
      const stale = await engine.inlineRecord(spec("raced"));
      await engine.startInline(spec("raced"));
      expect(await engine.completeInline(stale, "[2]", undefined, false)).toBe(false);
      expect(await store.get("raced")).toMatchObject({ state: State.Running });
    });

    it("finds the record a caller's earlier attempt created, and writes nothing more", async () => {
      const { engine, store } = await setupWith(makeStore);
      await engine.startInline(spec("inline"));
      const again = await engine.startInline(spec("inline"));
      expect(again.created).toBe(false);
      expect(again.record).toMatchObject({ id: "inline", state: State.Running, attempt: 1 });
      expect((await store.get("inline"))?.history).toHaveLength(1);
    });

    it("lets one re-run take over an inline execution found running, and keeps the earlier runner from committing (take-over attempt)", async () => {
      const { engine, store } = await setupWith(makeStore);
      // Copies, as each runner holds its own view (the in-memory store hands out its live record).
      const first = { ...(await engine.startInline(spec("inline"))).record };
      // Two re-runs of the caller (a stale attempt and its take-over) found it at attempt 1.
      const found = { ...(await engine.startInline(spec("inline"))).record };
      const taken = await engine.retakeInline(found);
      expect(taken).toMatchObject({ state: State.Running, attempt: 2 });
      expect(await engine.retakeInline(found)).toBeUndefined();
      expect(await engine.completeInline(first, '"late"', undefined)).toBe(false);
      expect(await engine.completeInline(taken!, '"won"', undefined)).toBe(true);
      const done = await store.get("inline");
      expect(done).toMatchObject({ state: State.Completed, attempt: 2, result: { inline: '"won"' } });
      expect(done?.history.map((h) => [h.state, h.attempt])).toEqual([
        [State.Running, 1],
        [State.Running, 2],
        [State.Completed, 2],
      ]);
      // A finished execution is never taken over.
      expect(await engine.retakeInline(done!)).toBeUndefined();
    });

    it("leaves an inline completion's release to the coordinator where one runs, and releases it itself where none does", async () => {
      for (const inlineFanIn of [8, undefined]) {
        const { engine, queue, store } = await setupWith(makeStore, [], inlineFanIn);
        const { record } = await engine.startInline(spec("inline"));
        // A re-run of the caller that lost the race to take it over, suspended on it.
        await engine.register(spec("caller"));
        const caller = await engine.claim(queue.sent[0]!.message);
        await engine.finish(caller!, { type: "suspended", on: ["inline"], mode: WaitMode.All });
        expect(await engine.completeInline({ ...record }, "[1]", undefined)).toBe(true);
        if (inlineFanIn !== undefined) {
          expect(await store.get("caller")).toMatchObject({ state: State.Suspended, pending: 1 });
          await engine.releaseDependents("inline");
        }
        expect(await store.get("caller")).toMatchObject({ state: State.Queued, pending: 0 });
      }
    });
  });
}
