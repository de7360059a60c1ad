/**
 * Bounded histories: a record's history is compacted at the cap instead of growing by
 * three entries per re-run, so an awaited chain's parent costs the same per write at any
 * length, and the first and latest entries and the count of those folded are kept.
 */
import { afterEach, describe, expect, it } from "vitest";
import { State, task, workflow, type Transition } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { HISTORY_CAP, compact, isFull } from "../../sdk/engine/history.ts";

/** How many transitions a history stands for: each entry once, a summary for its folded ones. */
const transitions = (history: readonly Transition[]): number => history.reduce((n, t) => n + (t.folded ?? 1), 0);

/** Appends `transition` as the engine does: compacted once the history is full. */
const write = (history: Transition[], transition: Transition): Transition[] =>
  isFull(history) ? compact(history, transition) : [...history, transition];

describe("compact()", () => {
  it("keeps the first start, the latest entries and a count of the folded ones", () => {
    let history: Transition[] = [
      { state: State.Queued, at: 0, attempt: 1 },
      { state: State.Running, at: 1, attempt: 1 },
    ];
    const written: Transition[] = [...history];
    let at = 2;
    for (let step = 0; step < 40; step += 1) {
      for (const state of [State.Suspended, State.Queued, State.Running]) {
        const transition = { state, at: at++, attempt: 1 };
        written.push(transition);
        history = write(history, transition);
        expect(history.length).toBeLessThanOrEqual(HISTORY_CAP);
      }
    }
    expect(history.slice(0, 2)).toEqual(written.slice(0, 2));
    // One summary entry, from the first suspension, standing for everything in between.
    const summaries = history.filter((t) => t.folded !== undefined);
    expect(summaries).toEqual([{ state: State.Suspended, at: 2, attempt: 1, folded: written.length - history.length + 1 }]);
    expect(history[2]).toBe(summaries[0]);
    expect(history.slice(3)).toEqual(written.slice(written.length - (history.length - 3)));
    expect(transitions(history)).toBe(written.length);
  });

  it("folds a summary into the next one, counting what it stood for", () => {
    const head: Transition[] = [
      { state: State.Queued, at: 0, attempt: 1 },
      { state: State.Running, at: 1, attempt: 1 },
      { state: State.Suspended, at: 2, attempt: 1, folded: 30 },
    ];
    const tail = Array.from({ length: HISTORY_CAP - head.length }, (_, i): Transition => ({ state: State.Running, at: 10 + i, attempt: 1 }));
    const next = compact([...head, ...tail], { state: State.Completed, at: 99, attempt: 1 });
    expect(next[2]).toEqual({ state: State.Suspended, at: 2, attempt: 1, folded: 30 + tail.length + 1 - 6 });
    expect(next.at(-1)).toEqual({ state: State.Completed, at: 99, attempt: 1 });
    expect(transitions(next)).toBe(2 + 30 + tail.length + 1);
  });

  it("appends to a history too short to fold", () => {
    const history: Transition[] = [{ state: State.Queued, at: 0, attempt: 1 }];
    expect(compact(history, { state: State.Running, at: 1, attempt: 1 })).toEqual([...history, { state: State.Running, at: 1, attempt: 1 }]);
  });
});

const engines: EmbeddedEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

const step = task("h_step", async (x: number) => x + 1);
const chain = workflow("h_chain", async (n: number) => {
  let value = 0;
  for (let i = 0; i < n; i += 1) value = await step.submit(value).result();
  return value;
});

describe("an awaited chain's history", () => {
  it("stays within the cap over 100 re-runs, its first and last transitions intact", async () => {
    const engine = createEmbeddedRuntime({ suspendAfterMs: 0 });
    engines.push(engine);
    const run = engine.submit(chain, 100);
    expect(await run.result()).toBe(100);
    const history = (await engine.getExecution(run.id))?.history ?? [];
    expect(history.length).toBeLessThanOrEqual(HISTORY_CAP);
    expect(history.slice(0, 2).map((t) => t.state)).toEqual([State.Queued, State.Running]);
    expect(history.at(-1)?.state).toBe(State.Completed);
    expect(history.slice(-4, -1).map((t) => t.state)).toEqual([State.Suspended, State.Queued, State.Running]);
    // Queued and first start, then a suspension, a queueing and a start per step, then the end.
    expect(transitions(history)).toBe(2 + 3 * 100 + 1);
    const summary = history.find((t) => t.folded !== undefined);
    expect(summary?.folded).toBe(2 + 3 * 100 + 1 - (history.length - 1));
    expect(summary?.state).toBe(State.Suspended);
  });
});
