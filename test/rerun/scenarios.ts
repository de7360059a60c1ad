/**
 * Re-runs of a failed or cancelled run, written once and run on every backend: the
 * embedded engine and the local cloud (the real handlers over DynamoDB Local and the SQS
 * server). What a user relies on: only what failed (or was cancelled) and what depends on
 * it runs again, completed executions are reused, the earlier failure stays in the history,
 * and a run that is live or completed, or re-run twice at once, is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, State, type Engine } from "floe";
import { engineOf } from "../../sdk/api/engine.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { settledRun } from "../conformance/suite.ts";
import { counted, openLatch, unique } from "../conformance/probes.ts";
import { failing, rrFanOut, rrGated, rrGate, rrInlineFlow, rrRetried } from "./tasks.ts";

/** A backend the scenarios run on. */
export interface RerunBackend {
  readonly name: string;
  create(): Runtime | Promise<Runtime>;
  /** How long a run may take to settle, and a test to pass. */
  readonly settleMs?: number;
}

/** The code of the error `promise` rejects with. */
async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** Polls until `fn` is true. */
async function until(fn: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Defines the re-run scenarios for `backend`. */
export function rerunScenarios(backend: RerunBackend): void {
  const settleMs = backend.settleMs ?? 10_000;
  describe(`re-runs: ${backend.name}`, () => {
    // One engine for the file's tests (each test's keys are its own): a local cloud takes
    // a table and queues of its own to start.
    let shared: Engine | undefined;
    beforeAll(async () => {
      shared = engineOf(await backend.create());
    }, 120_000);
    afterAll(async () => {
      await shared?.close();
    });
    const engine = () => {
      if (shared === undefined) throw new Error("the engine has not started");
      return Promise.resolve(shared);
    };

    /** A fan-out of four leaves whose leaves in `fail` failed, settled. */
    async function failedFanOut(e: Engine, key: string, fail: readonly number[]) {
      for (const i of fail) failing.add(`${key}:${i}`);
      const run = e.submit(rrFanOut, key, 4);
      await expect(run.result()).rejects.toThrow(`leaf ${fail[0]} of ${key} failed`);
      await settledRun(e, run.id, settleMs);
      for (const i of fail) failing.delete(`${key}:${i}`);
      return run;
    }

    it("runs again only the leaves that failed and the downstreams waiting on them", async () => {
      const e = await engine();
      const key = unique("fan");
      const run = await failedFanOut(e, key, [1, 3]);
      expect([0, 1, 2, 3].map((i) => counted(`${key}:leaf:${i}`))).toEqual([1, 1, 1, 1]);
      expect(counted(`${key}:double`)).toBe(4);

      const again = await e.rerun(run);
      expect(again.id).toBe(run.id);
      expect(await again.result()).toBe(12);
      // Leaves 0 and 2 and their doubles completed the first time: reused, not run again.
      expect([0, 1, 2, 3].map((i) => counted(`${key}:leaf:${i}`))).toEqual([1, 2, 1, 2]);
      // Each restarted double ran once more, no earlier than its restarted leaf.
      expect(counted(`${key}:double`)).toBe(6);

      const view = await settledRun(e, run.id, settleMs);
      expect(view.executions).toHaveLength(9);
      expect(view.executions.every((x) => x.state === State.Completed)).toBe(true);
      // The earlier failure stays in the history of what ran again.
      const leaf1 = view.executions.find((x) => x.task === "rr_leaf" && x.result === 1);
      expect(leaf1?.attempt).toBe(2);
      expect(leaf1?.failures?.map((f) => [f.attempt, f.error.message])).toEqual([[1, `leaf 1 of ${key} failed`]]);
      expect(view.root.failures?.map((f) => f.attempt)).toEqual([1]);
      const leaf0 = view.executions.find((x) => x.task === "rr_leaf" && x.result === 0);
      expect(leaf0?.attempt).toBe(1);
    }, settleMs + 10_000);

    it("re-runs a cancelled run: the completed leaf is reused, the cancelled gate runs again", async () => {
      const e = await engine();
      const key = unique("gate");
      const run = e.submit(rrGated, key);
      await until(() => counted(`${key}:gate`) === 1, "the gate to start", settleMs);
      await e.cancel(run);
      await expect(run.result()).rejects.toThrow(/cancel/);
      const cancelled = await settledRun(e, run.id, settleMs);
      expect(cancelled.executions.filter((x) => x.state === State.Cancelled).map((x) => x.task).sort()).toEqual(["rr_gate", "rr_gated"]);

      openLatch(key);
      const again = await e.rerun(run.id);
      expect(await again.result()).toBe("0 opened");
      expect(counted(`${key}:leaf:0`)).toBe(1);
      expect(counted(`${key}:gate`)).toBe(2);
      const view = await settledRun(e, run.id, settleMs);
      const gate = view.executions.find((x) => x.task === rrGate.definition.name);
      expect(gate?.history.map((h) => h.state)).toContain(State.Cancelled);
      expect(gate?.state).toBe(State.Completed);
    }, settleMs + 10_000);

    it("gives a re-run its retries again, and runs a child that fails again in it only once", async () => {
      const e = await engine();
      const key = unique("retried");
      failing.add(`${key}:0`);
      const run = e.submit(rrRetried, key);
      await expect(run.result()).rejects.toThrow(`leaf 0 of ${key} failed`);
      // The retry of the workflow found its leaf failed in the same run: not run again.
      expect(counted(`${key}:leaf:0`)).toBe(1);
      expect((await e.getExecution(run))?.attempt).toBe(2);

      const again = await e.rerun(run);
      await expect(again.result()).rejects.toThrow(`leaf 0 of ${key} failed`);
      await settledRun(e, run.id, settleMs);
      failing.delete(`${key}:0`);
      // Started again once by the re-run; the workflow's own retry in it (attempt 4) found it
      // failed in this re-run and left it so.
      expect(counted(`${key}:leaf:0`)).toBe(2);
      const root = await e.getExecution(run);
      expect(root?.attempt).toBe(4);
      expect(root?.failures?.map((f) => f.attempt)).toEqual([1, 2, 3, 4]);
    }, settleMs + 10_000);

    it("runs again an inline step that failed, in the re-run's own attempt, reusing the completed leaf", async () => {
      const e = await engine();
      const key = unique("inline");
      failing.add(`${key}:inline`);
      const run = e.submit(rrInlineFlow, key);
      await expect(run.result()).rejects.toThrow(`the inline step of ${key} failed`);
      await settledRun(e, run.id, settleMs);
      failing.delete(`${key}:inline`);

      const again = await e.rerun(run);
      expect(await again.result()).toBe("0 stepped");
      expect([counted(`${key}:leaf:0`), counted(`${key}:inline`)]).toEqual([1, 2]);
      const view = await settledRun(e, run.id, settleMs);
      const step = view.executions.find((x) => x.task === "rr_inline_step");
      expect(step).toMatchObject({ state: State.Completed, attempt: 2 });
      expect(step?.failures?.map((f) => [f.attempt, f.error.message])).toEqual([[1, `the inline step of ${key} failed`]]);
    }, settleMs + 10_000);

    it("accepts the id of any execution of the run and re-runs the run", async () => {
      const e = await engine();
      const key = unique("child");
      const run = await failedFanOut(e, key, [2]);
      const view = await e.getRun(run.id);
      const leaf = view?.executions.find((x) => x.task === "rr_leaf" && x.state === State.Failed);
      const again = await e.rerun(leaf?.id ?? "missing");
      expect(again.id).toBe(run.id);
      expect(await again.result()).toBe(12);
    }, settleMs + 10_000);

    it("refuses a run that completed, one still live and an unknown id, writing nothing", async () => {
      const e = await engine();
      const key = unique("refuse");
      const done = e.submit(rrFanOut, key, 1);
      await done.result();
      expect(await codeOf(e.rerun(done))).toBe(ErrorCode.Conflict);
      await expect(e.rerun(done)).rejects.toThrow(/is completed: only a failed or cancelled run can be re-run/);
      expect((await e.getExecution(done))?.attempt).toBe(1);

      const live = e.submit(rrGated, key);
      await until(() => counted(`${key}:gate`) === 1, "the gate to start", settleMs);
      await expect(e.rerun(live)).rejects.toThrow(/is (running|suspended): only a failed or cancelled run can be re-run, and it is still live/);
      openLatch(key);
      await live.result();

      expect(await codeOf(e.rerun("no-such-run"))).toBe(ErrorCode.UnknownExecution);
    }, settleMs + 10_000);

    it("starts one re-run when two are requested at once", async () => {
      const e = await engine();
      const key = unique("twice");
      const run = await failedFanOut(e, key, [0]);
      const [a, b] = await Promise.allSettled([e.rerun(run), e.rerun(run)]);
      const outcomes = [a, b].map((o) => (o.status === "fulfilled" ? "started" : (o.reason as { code?: string }).code));
      expect(outcomes.sort()).toEqual([ErrorCode.Conflict, "started"].sort());
      expect(await run.result()).toBe(12);
      expect(counted(`${key}:leaf:0`)).toBe(2);
      expect((await e.getExecution(run))?.attempt).toBe(2);
    }, settleMs + 10_000);
  });
}
