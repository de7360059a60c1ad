/**
 * Completion events on the embedded engine: the same events the coordinator publishes in
 * AWS, told to `createEngine({ onRunEvent })`.
 */
import { describe, expect, it } from "vitest";
import { createEngine, task, workflow } from "floe";
import type { RunEvent } from "../../sdk/events/run-event.ts";
import { finishedRunEvents, type ChainStore } from "../../sdk/events/forwarded-run.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { drive } from "../../sdk/engine/step.ts";
import type { ExecutionRecord } from "../../sdk/engine/model.ts";

const ok = workflow("ee_ok", async (n: number) => n + 1);
const bad = workflow("ee_bad", async () => {
  throw Object.assign(new Error("the card was declined"), { code: "E_DECLINED" });
});
const childOk = task("ee_child_ok", async () => "fine");
const childFails = task("ee_child_fails", async () => {
  throw new Error("the mail server said no");
});
const parent = workflow("ee_parent", async () => {
  childFails.submit();
  return childOk.submit().result();
});
const takes = task("ee_takes", async (value: string) => value);
const passes = workflow("ee_passes", async () => {
  // The failed child is passed on, so something waits for it: its failure is not announced alone.
  const failing = childFails.submit();
  return takes.submit(failing as unknown as string);
});

/** A gate the test opens: the task behind it finishes only then. */
const gates = new Map<string, { readonly opened: Promise<void>; open(): void }>();
function gate(name: string): { readonly opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const made = { opened, open };
  gates.set(name, made);
  return made;
}
const held = task("ee_held", async (name: string, fails: boolean) => {
  await gates.get(name)?.opened;
  if (fails) throw Object.assign(new Error("the courier lost it"), { code: "E_LOST" });
  return `${name} done`;
});
const forwards = workflow("ee_forwards", async (name: string, fails: boolean) => held.submit(name, fails));
const forwardsTwice = workflow("ee_forwards_twice", async (name: string) => forwards.submit(name, false));
const forwardsDone = workflow("ee_forwards_done", async (name: string) => {
  const child = held.submit(name, false);
  await child.result();
  return child;
});

describe("completion events on the embedded engine", () => {
  it("tells onRunEvent of each run's end and of a failed fire-and-forget child, and of nothing else", async () => {
    const events: RunEvent[] = [];
    const engine = createEngine({ onRunEvent: (e) => events.push(e) });
    try {
      const done = engine.submit(ok, 1);
      const failed = engine.submit(bad);
      expect(await done.result()).toBe(2);
      await failed.result({ raiseOnFailure: false });
      expect(await engine.submit(parent).result()).toBe("fine");
      await engine.close();
      expect(events.map((e) => `${e.detailType} ${e.detail.task}`).sort()).toEqual([
        "Execution Failed ee_child_fails",
        "Run Completed ee_ok",
        "Run Completed ee_parent",
        "Run Failed ee_bad",
      ]);
      expect(events.find((e) => e.detailType === "Run Failed")?.detail).toMatchObject({
        eventId: `${failed.id}:failed`,
        workflow: "ee_bad",
        error: { message: "the card was declined", code: "E_DECLINED" },
      });
    } finally {
      await engine.close();
    }
  });

  it("announces no failure that something waits for: a failed argument, a failed forwarded result", async () => {
    const events: RunEvent[] = [];
    const engine = createEngine({ onRunEvent: (e) => events.push(e) });
    try {
      await engine.submit(passes).result({ raiseOnFailure: false });
      await engine.close();
      // The root forwards to ee_takes, which returns (forwards) the failed child: the run failed.
      expect(events.map((e) => `${e.detailType} ${e.detail.task}`)).toEqual(["Run Failed ee_passes"]);
      expect(events[0]!.detail.error?.message).toBe("the mail server said no");
    } finally {
      await engine.close();
    }
  });

  describe("a run whose root forwards its result", () => {
    async function rootCompleted(engine: ReturnType<typeof createEngine>, id: string): Promise<void> {
      for (let i = 0; i < 1000 && (await engine.getExecution(id))?.state !== "completed"; i++) await new Promise((r) => setImmediate(r));
      expect((await engine.getExecution(id))?.state).toBe("completed");
    }

    it("is announced when the execution it forwards to completes, once, with its end", async () => {
      const events: RunEvent[] = [];
      const engine = createEngine({ onRunEvent: (e) => events.push(e) });
      try {
        const g = gate("later");
        const run = engine.submit(forwards, "later", false);
        await rootCompleted(engine, run.id);
        // The root's own record is completed, but its result is not final yet.
        expect(events).toEqual([]);
        g.open();
        expect(await run.result()).toBe("later done");
        await engine.close();
        const target = (await engine.getExecution(run.id))?.forward;
        const end = await engine.getExecution(target!);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          detailType: "Run Completed",
          detail: { eventId: `${run.id}:completed`, workflow: "ee_forwards", executionId: run.id, state: "completed", forwardedTo: target, finishedAt: end?.finishedAt },
        });
        expect(events[0]!.detail.durationMs).toBe(end!.finishedAt! - events[0]!.detail.createdAt);
      } finally {
        await engine.close();
      }
    });

    it("is announced as failed when that execution fails, and that failure is not announced alone", async () => {
      const events: RunEvent[] = [];
      const engine = createEngine({ onRunEvent: (e) => events.push(e) });
      try {
        const g = gate("fails");
        const run = engine.submit(forwards, "fails", true);
        await rootCompleted(engine, run.id);
        g.open();
        await expect(run.result()).rejects.toThrow("the courier lost it");
        await engine.close();
        expect(events.map((e) => `${e.detailType} ${e.detail.task}`)).toEqual(["Run Failed ee_forwards"]);
        expect(events[0]!.detail).toMatchObject({ state: "failed", error: { message: "the courier lost it", code: "E_LOST" } });
      } finally {
        await engine.close();
      }
    });

    it("follows a chain of forwards to its end, and announces at once a target already finished", async () => {
      const events: RunEvent[] = [];
      const engine = createEngine({ onRunEvent: (e) => events.push(e) });
      try {
        const g = gate("chain");
        const run = engine.submit(forwardsTwice, "chain");
        await rootCompleted(engine, run.id);
        g.open();
        expect(await run.result()).toBe("chain done");
        gate("done").open();
        const done = engine.submit(forwardsDone, "done");
        expect(await done.result()).toBe("done done");
        await engine.close();
        expect(events.map((e) => `${e.detailType} ${e.detail.task}`).sort()).toEqual(["Run Completed ee_forwards_done", "Run Completed ee_forwards_twice"]);
        const chained = events.find((e) => e.detail.task === "ee_forwards_twice")!.detail;
        expect((await engine.getExecution(chained.forwardedTo!))?.task).toBe("ee_held");
      } finally {
        await engine.close();
      }
    });
  });

  it("refuses an onRunEvent that is not a function, naming it", () => {
    expect(() => createEngine({ onRunEvent: "log" as never })).toThrow(/onRunEvent must be a function/);
  });
});

describe("following a forward chain over a store", () => {
  const record = (id: string, state: ExecutionRecord["state"], extra: Partial<ExecutionRecord> = {}): ExecutionRecord => ({
    id,
    runId: "root",
    taskName: id === "root" ? "w" : "t",
    args: { inline: "[]" },
    state,
    attempt: 1,
    generation: 0,
    pending: 0,
    guarded: false,
    waitMode: "all",
    createdAt: 10,
    history: [],
    ...extra,
  });

  it("announces from the root when the target ends between the read and the mark, and from the target when marked", () => {
    const store = new MemoryExecutionStore();
    store.create(record("root", "completed", { forward: "x", finishedAt: 20, result: { inline: "0" } }));
    store.create(record("x", "running"));
    // The target finishes just before the mark is written: the mark's condition fails.
    const racing: ChainStore = {
      get: (id) => store.get(id),
      update: (id, expect, changes, transition) => {
        store.update(id, {}, { state: "failed", finishedAt: 30, failures: [{ attempt: 1, finishedAt: 30, error: { name: "Error", message: "boom" } }] });
        return store.update(id, expect, changes, transition);
      },
    };
    const events = drive(finishedRunEvents(racing, store.get("root")!, 0)) as RunEvent[];
    expect(events.map((e) => [e.detailType, e.detail.finishedAt, e.detail.forwardedTo, e.detail.error?.message])).toEqual([["Run Failed", 30, "x", "boom"]]);

    // Marked while running, the target's own end announces the run; the root's, nothing.
    store.create(record("y", "running"));
    store.update("root", {}, { forward: "y" });
    expect(drive(finishedRunEvents(store, store.get("root")!, 0))).toEqual([]);
    expect(store.get("y")).toMatchObject({ announces: "root" });
    store.update("y", {}, { state: "completed", finishedAt: 40, result: { inline: "1" } });
    const fromTarget = drive(finishedRunEvents(store, store.get("y")!, 0)) as RunEvent[];
    expect(fromTarget.map((e) => [e.detailType, e.detail.executionId, e.detail.durationMs])).toEqual([["Run Completed", "root", 30]]);
  });
});
