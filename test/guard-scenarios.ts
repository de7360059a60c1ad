/**
 * Scenarios that each fail when one guard of the engine or of a store is removed (T27),
 * written once over a store and run on the in-memory store and on DynamoDB Local. Each
 * sets up the case the guard exists for, where nothing else would hide its absence: a
 * downstream still waiting for another upstream, so a count too many shows as an early
 * queue rather than being absorbed by the counter's floor. `test/GUARDS.md` lists which
 * guard each one covers.
 */
import { describe, expect, it } from "vitest";
import { EdgeKind, State, WaitMode, type Edge } from "../sdk/engine/model.ts";
import { runToCompletion, setupWith, spec, type StoreFactory } from "./engine-scenarios.ts";

/** An edge of run "run", as a registration writes it. */
const edge = (upstreamId: string, downstreamId: string): Edge => ({
  upstreamId,
  downstreamId,
  runId: "run",
  kind: EdgeKind.Argument,
  waits: true,
  generation: 1,
  fanIn: 2,
  released: false,
  createdAt: 0,
});

/** The guard scenarios over the stores `makeStore` makes. */
export function guardScenarios(name: string, makeStore: StoreFactory): void {
  const setup = (retryDelays?: (number | undefined)[]) => setupWith(makeStore, retryDelays);
  describe(`guards over ${name}`, () => {
    it("counts an edge once when it is released again from a read made before the first release (released mark)", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u1"));
      await engine.register(spec("u2"));
      await engine.register(spec("d", ["u1", "u2"]));
      // A copy, as a second releaser (the coordinator, a replayed record) read it.
      const stale = { ...(await store.edgesFrom("u1"))[0]! };
      expect(stale.released).toBe(false);
      await runToCompletion(engine, queue, "u1");
      expect((await store.release([stale]))?.decremented ?? false).toBe(false);
      expect(await store.get("d")).toMatchObject({ state: State.Waiting, pending: 1 });
      expect(queue.ids()).not.toContain("d");
    });

    it("counts once an edge released by its upstream and again by the registration it interrupted (released mark)", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u1"));
      await engine.register(spec("u2"));
      // A registration interrupted after the record and its edges, before arming.
      await store.create({ ...(await store.get("u1"))!, id: "d", state: State.Waiting, pending: 2, guarded: true, history: [] });
      await store.addEdges([edge("u1", "d"), edge("u2", "d")]);
      await runToCompletion(engine, queue, "u1");
      // Finishing the registration releases the edge of every finished upstream it reads.
      await engine.register(spec("d", ["u1", "u2"]));
      expect(await store.get("d")).toMatchObject({ state: State.Waiting, pending: 1, guarded: false });
      expect(queue.ids()).not.toContain("d");
      await runToCompletion(engine, queue, "u2");
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
    });

    it("ignores a release from an earlier wait while the current wait still waits (generation check)", async () => {
      const { engine, queue, store } = await setup();
      for (const id of ["u1", "u2", "u3", "p"]) await engine.register(spec(id));
      const running = (await engine.claim(queue.sent[3]!.message))!;
      await engine.finish(running, { type: "suspended", on: ["u1", "u2"], mode: WaitMode.Any });
      await runToCompletion(engine, queue, "u1");
      const resumed = (await engine.claim(queue.sent.at(-1)!.message))!;
      await engine.finish(resumed, { type: "suspended", on: ["u2", "u3"], mode: WaitMode.All });
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, pending: 2, generation: 3 });
      // u2 releases its generation-2 edge (stale: that wait is over) and its generation-3 one.
      await runToCompletion(engine, queue, "u2");
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, pending: 1, generation: 3 });
      expect(queue.ids().filter((id) => id === "p")).toHaveLength(2);
      await runToCompletion(engine, queue, "u3");
      expect(await store.get("p")).toMatchObject({ state: State.Queued, pending: 0 });
    });

    it("releases an upstream's edges of each generation apart, in whatever order the store lists them (generation check)", async () => {
      const { engine, queue, store } = await setup();
      const late = Array.from({ length: 8 }, (_, i) => `a${i + 2}`);
      for (const id of ["z", "w", ...late, "p"]) await engine.register(spec(id));
      let message = queue.sent.find((s) => s.message.executionId === "p")!.message;
      // Generations 2 to 9 each wait for z or another, and the other wins: z's edges stay open.
      for (const other of late) {
        await engine.finish((await engine.claim(message))!, { type: "suspended", on: ["z", other], mode: WaitMode.Any });
        await runToCompletion(engine, queue, other);
        message = queue.sent.at(-1)!.message;
      }
      // Generation 10 waits for both z and w. DynamoDB lists z's edge of generation 10
      // (sort key "…#10") before those of 2 to 9.
      await engine.finish((await engine.claim(message))!, { type: "suspended", on: ["z", "w"], mode: WaitMode.All });
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, pending: 2, generation: 10 });
      await runToCompletion(engine, queue, "z");
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, pending: 1, generation: 10 });
      await runToCompletion(engine, queue, "w");
      expect(await store.get("p")).toMatchObject({ state: State.Queued, pending: 0 });
    });

    it("drops the redelivered message of an attempt that failed and was queued again (claim condition)", async () => {
      // A retry delay of 1 ms: the test's clock moves 1 ms a reading, so attempt 2 is due at once.
      const { engine, queue, store } = await setup([1]);
      await engine.register(spec("a"));
      const first = queue.sent[0]!.message;
      await engine.finish((await engine.claim(first))!, { type: "failed", error: new Error("boom") });
      // Attempt 2 is queued; attempt 1's message, delivered again, is stale.
      expect(await engine.claim(first)).toBeUndefined();
      expect(await store.get("a")).toMatchObject({ state: State.Queued, attempt: 2 });
      expect(await engine.claim(queue.sent[1]!.message)).toMatchObject({ state: State.Running, attempt: 2 });
    });

    it("keeps an attempt that was taken over from committing, failing or suspending, and from taking over again (attempt check)", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u"));
      await engine.register(spec("a"));
      const message = queue.sent[1]!.message;
      // Copied: the in-memory store hands out its live record, which the take-over changes.
      const first = { ...(await engine.claim(message))! };
      // The message comes back while the first worker still runs: a second attempt starts.
      const second = { ...(await engine.claim(message, 0))! };
      expect(second.attempt).toBe(2);
      // Attempt 1's message once more: attempt 2 is current, and is not taken over by it.
      expect(await engine.claim(message, 0)).toBeUndefined();
      await engine.finish(first, { type: "completed", result: "[1]" });
      await engine.finish(first, { type: "failed", error: new Error("late") });
      await engine.finish(first, { type: "suspended", on: ["u"], mode: WaitMode.All });
      expect(await store.get("a")).toMatchObject({ state: State.Running, attempt: 2, generation: 1 });
      await engine.finish(second, { type: "completed", result: "[2]" });
      expect(await store.get("a")).toMatchObject({ state: State.Completed, result: { inline: "[2]" } });
    });

    it("stops the counter at zero when every upstream of a wait for any one releases before it is queued (counter floor)", async () => {
      const { engine, queue, store } = await setup();
      for (const id of ["u1", "u2", "p"]) await engine.register(spec(id));
      const running = (await engine.claim(queue.sent[2]!.message))!;
      await engine.finish(running, { type: "suspended", on: ["u1", "u2"], mode: WaitMode.Any });
      // Two releasers at once, each gone before queueing p (a crash, a lost response).
      for (const upstream of ["u1", "u2"]) await store.release(await store.edgesFrom(upstream));
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, pending: 0 });
      // The coordinator's backstop finds p at zero and queues it.
      await engine.releaseDependents(["u1", "u2"]);
      expect(await store.get("p")).toMatchObject({ state: State.Queued, pending: 0 });
      expect(queue.ids().filter((id) => id === "p")).toHaveLength(2);
    });
  });
}
