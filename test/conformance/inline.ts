/**
 * The `inline` task option (DESIGN section 2), run against every backend as `suite.ts` is:
 * a task awaited in the call form runs in its caller's attempt as an execution of its own;
 * any other way, or when it must be retried or wait, it goes through its queue as usual.
 */
import { describe, expect, it } from "vitest";
import { State, type Engine, type ExecutionView, type RunView } from "floe";
import { counted, openLatch, unique } from "./probes.ts";
import { closedAfterEach, settledRun, type Backend } from "./suite.ts";
import * as t from "./inline-tasks.ts";

/** A backend under test, and what it can count of a task's queue. */
export interface InlineBackend extends Backend {
  /**
   * The messages sent to `taskName`'s queue and the invocations of its worker so far, on
   * a backend with one per task (the local cloud).
   */
  readonly hops?: (engine: Engine, taskName: string) => { readonly messages: number; readonly invocations: number };
}

const statesOf = (record: ExecutionView) => record.history.map((h) => h.state);
const byTask = (run: RunView, name: string) => run.executions.filter((e) => e.task === name);

/** Defines the inline conformance suite for `backend`. */
export function inlineConformance(backend: InlineBackend): void {
  describe(`inline tasks: ${backend.name}`, () => {
    const engine = closedAfterEach((options) => backend.create(options));

    it("runs a chain of inline calls in the caller's attempt, each an execution of its own, with no queue hop", async () => {
      const e = await engine();
      const key = unique("chain");
      const run = e.submit(t.chain, key, 5);
      const { x, ran } = (await run.result()) as { x: number; ran: string[] };
      expect(x).toBe(5);
      expect(counted(`${key}-step`)).toBe(5);
      // Never suspended: the caller waited for each step in its own process.
      expect(counted(key)).toBe(1);
      const view = await settledRun(e, run.id);
      const steps = byTask(view, "ci_step");
      expect(steps).toHaveLength(5);
      expect(steps.map((s) => s.id).sort()).toEqual([...ran].sort());
      for (const s of steps) {
        expect(s).toMatchObject({ state: State.Completed, attempt: 1, parentId: run.id, runId: run.id });
        expect(statesOf(s)).toEqual([State.Running, State.Completed]);
        expect(s.startedAt).toBeLessThanOrEqual(s.finishedAt!);
      }
      expect(backend.hops?.(e, "ci_step")).toEqual(backend.hops === undefined ? undefined : { messages: 0, invocations: 0 });
    });

    it("runs an inline task submitted, called at top level, and a task without the option called, through their queues", async () => {
      const e = await engine();
      const key = unique("submitted");
      const submitted = e.submit(t.submitsStep, key);
      expect(await submitted.result()).toBe(2);
      const top = e.submit(t.step, `${key}-top`, 1);
      expect(((await top.result()) as { value: number }).value).toBe(2);
      const called = e.submit(t.callsPlain, 1);
      expect(await called.result()).toBe(2);
      for (const [runId, name] of [[submitted.id, "ci_step"], [top.id, "ci_step"], [called.id, "ci_plain"]] as const) {
        const [record] = byTask(await settledRun(e, runId), name);
        expect(statesOf(record!)).toEqual([State.Queued, State.Running, State.Completed]);
      }
      if (backend.hops !== undefined) expect(backend.hops(e, "ci_step")).toEqual({ messages: 2, invocations: 2 });
    });

    it("retries a failed inline attempt on the task's queue; the caller gets the final result", async () => {
      const e = await engine();
      const key = unique("flaky");
      const run = e.submit(t.callsFlaky, key);
      expect(await run.result()).toBe("attempt 2");
      expect(counted(key)).toBe(2);
      const [record] = byTask(await settledRun(e, run.id), "ci_flaky_step");
      expect(record!.history.map((h) => [h.state, h.attempt])).toEqual([
        [State.Running, 1],
        [State.Queued, 2],
        [State.Running, 2],
        [State.Completed, 2],
      ]);
      if (backend.hops !== undefined) expect(backend.hops(e, "ci_flaky_step")).toEqual({ messages: 1, invocations: 1 });
    });

    it("throws an inline task's error to its caller, as recorded", async () => {
      const e = await engine();
      const run = e.submit(t.catchesFailure, "bad input");
      expect(await run.result()).toBe("caught ValidationError: bad input");
      const [record] = byTask(await settledRun(e, run.id), "ci_failing_step");
      expect(statesOf(record!)).toEqual([State.Running, State.Failed]);
    });

    it("reuses a completed inline execution when its caller runs again: its code ran once", async () => {
      const e = await engine();
      const key = unique("reuse");
      const run = e.submit(t.reusesStep, key);
      expect(await run.result()).toBe(12);
      expect(counted(`${key}-step`)).toBe(1);
      // A backend that suspends ran the caller again once the queued child finished.
      expect(counted(key)).toBe(backend.suspends ? 2 : 1);
      expect(byTask(await settledRun(e, run.id), "ci_step")).toHaveLength(1);
    });

    it("gives an inline execution its own children; one awaiting an unfinished child suspends as any task does", async () => {
      const e = await engine({ concurrency: 1 });
      const run = e.submit(t.callsSubmitter, 4);
      const out = (await run.result()) as { doubled: number; ran: string };
      expect(out.doubled).toBe(8);
      const view = await settledRun(e, run.id);
      const [inline] = byTask(view, "ci_submits_child");
      const [child] = byTask(view, "c_double");
      expect(inline!.id).toBe(out.ran);
      expect(child!.parentId).toBe(inline!.id);
      expect(statesOf(inline!)).toEqual(
        backend.suspends
          ? [State.Running, State.Suspended, State.Queued, State.Running, State.Completed]
          : [State.Running, State.Completed],
      );
    });

    it("ends its caller's attempt only once the inline execution's outcome is recorded, even when the caller suspends meanwhile", async () => {
      const e = await engine();
      const key = unique("both");
      const run = e.submit(t.callsBoth, key);
      // The queued child finishes while the inline one still runs.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const view = await e.getRun(run.id);
        if (view?.executions.some((x) => x.task === "c_double" && x.state === State.Completed)) break;
        if (Date.now() > deadline) throw new Error("c_double did not complete");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      openLatch(key);
      expect(await run.result()).toEqual(["opened", 2]);
      expect(counted(key)).toBe(1);
      const [record] = byTask(await settledRun(e, run.id), "ci_gated_step");
      expect(statesOf(record!)).toEqual([State.Running, State.Completed]);
    }, 30_000);

    it("fails an inline attempt that runs past its timeoutMs with FLOE_TIMEOUT", async () => {
      const e = await engine();
      const run = e.submit(t.callsSlow, unique("never-opened"));
      expect(await run.result()).toBe("FLOE_TIMEOUT");
      const [record] = byTask(await settledRun(e, run.id), "ci_slow_step");
      expect(statesOf(record!)).toEqual([State.Running, State.Failed]);
    });

    it("ends an inline execution when its caller's attempt times out, rather than leave it running", async () => {
      const e = await engine();
      const key = unique("caller-timeout");
      const run = e.submit(t.callerTimesOut, key);
      const error = (await run.result({ raiseOnFailure: false })) as Error & { code?: string };
      expect(error.code).toBe("FLOE_TIMEOUT");
      const [record] = byTask(await settledRun(e, run.id), "ci_gated_step");
      expect(statesOf(record!)).toEqual([State.Running, State.Failed]);
    });

    it("cancels an inline execution with its caller and fires its signal", async () => {
      const e = await engine();
      const key = unique("abort");
      const run = e.submit(t.callsAbortable, key);
      const deadline = Date.now() + 20_000;
      while (counted(`${key}-started`) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await run.cancel();
      while (counted(`${key}-aborted`) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(counted(`${key}-aborted`)).toBe(1);
      const [record] = byTask(await settledRun(e, run.id), "ci_waits_for_abort");
      expect(record!.state).toBe(State.Cancelled);
    }, 30_000);
  });
}
