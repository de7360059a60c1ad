/**
 * Listing runs (`ExecutionStore.runs`): by workflow and state, page after page, written once
 * and run over each execution store (the in-memory one, and DynamoDB Local's indexes).
 */
import { describe, expect, it } from "vitest";
import { State, WaitMode, type ExecutionRecord, type ExecutionState } from "../sdk/engine/model.ts";
import type { ExecutionStore, RunQuery } from "../sdk/engine/ports.ts";
import type { StoreFactory } from "./engine-scenarios.ts";

/** A run's root, created at `createdAt`, in `state`. */
function root(id: string, createdAt: number, state: ExecutionState, taskName = "w"): ExecutionRecord {
  return {
    id, runId: id, taskName, args: { inline: "J[]" }, state, attempt: 1, generation: 1, pending: 0, guarded: false,
    waitMode: WaitMode.All, createdAt, history: [{ state, at: createdAt, attempt: 1 }],
  };
}

/** Every page of a listing, each read after the last run of the one before. */
async function pages(store: ExecutionStore, query: RunQuery): Promise<string[][]> {
  const out: string[][] = [];
  let after: RunQuery["after"];
  for (;;) {
    const page = await store.runs({ ...query, ...(after === undefined ? {} : { after }) });
    if (page.length === 0) return out;
    out.push(page.map((r) => r.id));
    const last = page.at(-1)!;
    after = { createdAt: last.createdAt, id: last.id };
    if (out.length > 100) throw new Error("the listing never ends");
  }
}

/** The scenarios of listing runs over a store. */
export function runListingScenarios(name: string, makeStore: StoreFactory): void {
  describe(`listing runs over ${name}`, () => {
    it("pages through every run newest first, each once, a page short only at the end", async () => {
      const store = await makeStore();
      for (let i = 0; i < 7; i += 1) await store.create(root(`r${i}`, 1_000 + i, State.Completed));
      expect(await pages(store, { limit: 3 })).toEqual([["r6", "r5", "r4"], ["r3", "r2", "r1"], ["r0"]]);
    });

    it("filters by the root's state, reading on past other runs until a page is full", async () => {
      const store = await makeStore();
      // More runs than a store reads at a time (a batch read's 100), few of them failed.
      const failed = new Set([3, 90, 140, 149]);
      for (let i = 0; i < 150; i += 1) await store.create(root(`r${i}`, 1_000 + i, failed.has(i) ? State.Failed : State.Completed));
      expect((await store.runs({ state: State.Failed, limit: 2 })).map((r) => r.id)).toEqual(["r149", "r140"]);
      expect(await pages(store, { state: State.Failed, limit: 2 })).toEqual([["r149", "r140"], ["r90", "r3"]]);
      expect(await pages(store, { state: State.Failed, limit: 3 })).toEqual([["r149", "r140", "r90"], ["r3"]]);
      expect(await store.runs({ state: State.Running })).toEqual([]);
    });

    it("filters by workflow and state together, and a state's change moves a run in or out", async () => {
      const store = await makeStore();
      await store.create(root("a1", 1_001, State.Failed, "a"));
      await store.create(root("b1", 1_002, State.Failed, "b"));
      await store.create(root("a2", 1_003, State.Running, "a"));
      await store.create(root("a3", 1_004, State.Failed, "a"));
      expect((await store.runs({ taskName: "a", state: State.Failed })).map((r) => r.id)).toEqual(["a3", "a1"]);
      expect(await pages(store, { taskName: "a", state: State.Failed, limit: 1 })).toEqual([["a3"], ["a1"]]);
      await store.update("a2", { state: State.Running }, { state: State.Failed, finishedAt: 1_010 });
      expect((await store.runs({ taskName: "a", state: State.Failed })).map((r) => r.id)).toEqual(["a3", "a2", "a1"]);
      expect((await store.runs({ taskName: "a", state: State.Running })).map((r) => r.id)).toEqual([]);
    });

    it("goes on after a position whose run it never listed, from the runs created before it", async () => {
      const store = await makeStore();
      for (let i = 0; i < 4; i += 1) await store.create(root(`r${i}`, 1_000 + 10 * i, State.Completed));
      expect((await store.runs({ after: { createdAt: 1_025, id: "gone" } })).map((r) => r.id)).toEqual(["r2", "r1", "r0"]);
    });
  });
}
