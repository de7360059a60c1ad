/**
 * Durable time (issue 16), written once for every backend: a delayed start runs not
 * before its time, and `sleep` resumes after its time, the code before it re-run (its
 * submissions found, not made again) and each sleep passed once woken. A sleeping
 * execution is `sleeping`, its wake time given, until it wakes. Real time, kept to
 * a second or two: the controlled-clock cases are in test/unit/sleep.test.ts and
 * test/unit/delayed-start.test.ts.
 */
import { describe, expect, it } from "vitest";
import { sleep, task, workflow } from "floe";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { closedAfterEach } from "./suite.ts";

/** A backend under test (see `Backend` in suite.ts). */
export interface TimeBackend {
  readonly name: string;
  create(options: { readonly concurrency?: number }): Runtime | Promise<Runtime>;
}

export const stamp = task("time_stamp", async (label: string) => ({ label, at: Date.now() }));
export const sleepsTwice = workflow("time_sleeps_twice", async (until: number) => {
  const first = await stamp("before");
  await sleep(1_000);
  const second = await stamp("between");
  await sleep(new Date(until));
  const third = await stamp("after");
  return [first, second, third];
});

export const naps = workflow("time_naps", async (ms: number) => {
  await sleep(ms);
  return "rested";
});

/** Registers the durable-time cases for `backend`. */
export function timeConformance(backend: TimeBackend): void {
  describe(`durable time: ${backend.name}`, () => {
    const engine = closedAfterEach((options) => backend.create(options));

    it("starts a delayed submission not before its time", async () => {
      const e = await engine();
      const submitted = Date.now();
      const run = e.submit(stamp.with({ delayMs: 1_000 }), "late");
      const { at } = await run.result();
      expect(at - submitted).toBeGreaterThanOrEqual(1_000);
      const view = await e.getExecution(run.id);
      expect(view?.history.map((h) => h.state)).toEqual(["queued", "running", "completed"]);
    }, 20_000);

    it("resumes after each sleep, making the children before it once", async () => {
      const e = await engine();
      const started = Date.now();
      const run = e.submit(sleepsTwice, started + 6_000);
      const [before, between, after] = await run.result();
      expect(between!.at - before!.at).toBeGreaterThanOrEqual(1_000);
      expect(after!.at - started).toBeGreaterThanOrEqual(6_000);
      const runView = await e.getRun(run.id);
      // One execution per stamp: the re-runs found the ones made before their sleep.
      expect(runView?.executions.filter((x) => x.task === "time_stamp").map((x) => x.args[0]).sort()).toEqual(["after", "before", "between"]);
      const states = (await e.getExecution(run.id))!.history.map((h) => h.state);
      // A run per sleep at least (a backend that suspends on each await runs it more often).
      expect(states.filter((s) => s === "running").length).toBeGreaterThanOrEqual(3);
      // Each sleep shows (a long history folds the earlier ones into a count).
      expect(states).toContain("sleeping");
      expect(states.at(-1)).toBe("completed");
    }, 30_000);

    it("is sleeping, its wake time given, until it wakes; then it runs and completes", async () => {
      const e = await engine();
      const submitted = Date.now();
      const run = e.submit(naps, 5_000);
      let view = await e.getExecution(run.id);
      // The backend's own processes write the record: read until the attempt has slept.
      for (let i = 0; i < 200 && view?.state !== "sleeping"; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        view = await e.getExecution(run.id);
      }
      expect(view?.state).toBe("sleeping");
      expect(await run.state()).toBe("sleeping");
      expect(view!.wakeAt).toBeGreaterThanOrEqual(submitted + 5_000);
      expect(view!.wakeAt).toBeLessThanOrEqual(Date.now() + 5_000);
      expect((await e.listRuns({ state: "sleeping" })).map((r) => r.id)).toContain(run.id);
      expect(await run.result()).toBe("rested");
      const done = (await e.getExecution(run.id))!;
      expect(done.state).toBe("completed");
      expect(done).not.toHaveProperty("wakeAt");
      expect(done.history.map((h) => h.state)).toEqual(["queued", "running", "sleeping", "running", "completed"]);
      expect(done.history[3]!.at).toBeGreaterThanOrEqual(view!.wakeAt!);
    }, 30_000);

    it("fails a sleep with a bad duration with FLOE_INVALID_OPTION", async () => {
      const e = await engine();
      await expect(e.submit(sleepsTwice, Date.now() - 10_000).result()).rejects.toMatchObject({ code: "FLOE_INVALID_OPTION" });
    }, 20_000);
  });
}
