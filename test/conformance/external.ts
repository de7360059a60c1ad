/**
 * External executions (issue 16), written once for every backend: completed over the
 * engine's `complete` (what `POST /executions/{id}/complete` calls) before anyone waits or
 * after its parent suspended on it, with an error, passed to a task that waits for it,
 * raced with `asCompleted`, timed out, and found again with the same callback URL by a
 * re-run of its parent. Real time only for the timeout, kept to the shortest (1 second):
 * the controlled-clock cases are in test/unit/external.test.ts.
 */
import { describe, expect, it } from "vitest";
import { State, asCompleted, external, task, workflow, type Engine, type Execution } from "floe";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { closedAfterEach } from "./suite.ts";
import { latch, openLatch, unique } from "./probes.ts";

/** A backend under test (see `Backend` in suite.ts). */
export interface ExternalBackend {
  readonly name: string;
  create(options: { readonly concurrency?: number }): Runtime | Promise<Runtime>;
}

const DAY = 86_400_000;

export const noteUrl = task("ext_note", async (url: string) => url);
export const gate = task("ext_gate", async (name: string) => {
  await latch(name);
  return "task";
});

export const awaitsApproval = workflow("ext_awaits", async () => {
  const approval = external<{ approved: boolean }>("approval", { timeoutMs: DAY });
  const noted = await noteUrl(approval.callbackUrl);
  const { approved } = await approval.result();
  return { approved, url: approval.callbackUrl, noted };
});

export const earlyValue = workflow("ext_early", async () => {
  const value = external<string>("value", { timeoutMs: DAY });
  const go = external<string>("go", { timeoutMs: DAY });
  await go.result();
  return value.result();
});

export const useApproval = task("ext_use", { wait: true }, async (approval: Execution<{ approved: boolean }>) => {
  const { approved } = await approval.result();
  return approved ? "paid" : "refused";
});
export const passesOn = workflow("ext_passes_on", async () => useApproval.submit(external<{ approved: boolean }>("approval", { timeoutMs: DAY })));

export const races = workflow("ext_races", async (gateName: string) => {
  const approval = external<string>("approval", { timeoutMs: DAY });
  for await (const first of asCompleted([approval, gate.submit(gateName)])) return first.id === approval.id ? `external:${await first.result()}` : "task";
  return "none";
});

export const timesOut = workflow("ext_times_out", async () => external<string>("approval", { timeoutMs: 1_000 }).result());

/** Polls the run until its external execution named `name` exists; answers its id. */
export async function externalOf(engine: Engine, runId: string, name: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await engine.getRun(runId);
    const found = run?.executions.find((e) => e.task === name && e.id !== runId);
    if (found !== undefined) return found.id;
    if (Date.now() > deadline) throw new Error(`no external "${name}" appeared in run ${runId}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Registers the external-execution cases for `backend`. */
export function externalConformance(backend: ExternalBackend): void {
  describe(`external executions: ${backend.name}`, () => {
    const engine = closedAfterEach((options) => backend.create(options));

    it("resumes the code waiting for it once it is completed from outside", async () => {
      const e = await engine();
      const run = e.submit(awaitsApproval);
      const id = await externalOf(e, run.id, "approval");
      expect(await e.getExecution(id)).toMatchObject({ state: State.Waiting, task: "approval" });
      expect(await e.complete(id, { result: { approved: true } })).toEqual({ id, state: State.Completed });
      const done = await run.result();
      expect(done.approved).toBe(true);
    }, 30_000);

    it("keeps a value completed before anyone waits for it", async () => {
      const e = await engine();
      const run = e.submit(earlyValue);
      const value = await externalOf(e, run.id, "value");
      const go = await externalOf(e, run.id, "go");
      await e.complete(value, { result: "kept" });
      await e.complete(go, { result: "go" });
      expect(await run.result()).toBe("kept");
    }, 30_000);

    it("fails the waiting code with the error it was completed with, code and all", async () => {
      const e = await engine();
      const run = e.submit(awaitsApproval);
      const id = await externalOf(e, run.id, "approval");
      await e.complete(id, { error: { message: "over budget", code: "E_REJECTED" } });
      await expect(run.result()).rejects.toMatchObject({ message: "over budget", code: "E_REJECTED" });
      expect(await e.getExecution(id)).toMatchObject({ state: State.Failed });
    }, 30_000);

    it("starts a task that waits for it only once it is completed", async () => {
      const e = await engine();
      const run = e.submit(passesOn);
      const id = await externalOf(e, run.id, "approval");
      await new Promise((resolve) => setTimeout(resolve, 200));
      const waiting = (await e.getRun(run.id))?.executions.find((x) => x.task === "ext_use");
      expect(waiting?.state).toBe(State.Waiting);
      await e.complete(id, { result: { approved: true } });
      expect(await run.result()).toBe("paid");
    }, 30_000);

    it("races with a task in asCompleted", async () => {
      const e = await engine();
      const gateName = unique("ext-gate");
      const run = e.submit(races, gateName);
      const id = await externalOf(e, run.id, "approval");
      await e.complete(id, { result: "first" });
      expect(await run.result()).toBe("external:first");
      openLatch(gateName);
    }, 30_000);

    it("fails with FLOE_TIMEOUT when nothing completes it in time, and refuses a completion after", async () => {
      const e = await engine();
      const run = e.submit(timesOut);
      await expect(run.result()).rejects.toMatchObject({ code: "FLOE_TIMEOUT" });
      const id = await externalOf(e, run.id, "approval");
      expect(await e.getExecution(id)).toMatchObject({ state: State.Failed });
      await expect(e.complete(id, { result: "late" })).rejects.toMatchObject({ code: "FLOE_INVALID_OPTION" });
    }, 30_000);

    it("gives a re-run of its parent the same execution and callback URL", async () => {
      const e = await engine();
      const run = e.submit(awaitsApproval);
      const id = await externalOf(e, run.id, "approval");
      await e.complete(id, { result: { approved: false } });
      const { approved, url, noted } = await run.result();
      expect(approved).toBe(false);
      expect(noted).toBe(url);
      expect(url).toMatch(/\/callbacks\/.+\..{22}$/);
      const view = await e.getRun(run.id);
      // One note and one external: a re-run (on a backend that suspends) found both.
      expect(view?.executions.filter((x) => x.task === "ext_note").map((x) => x.args[0])).toEqual([url]);
      expect(view?.executions.filter((x) => x.task === "approval")).toHaveLength(1);
    }, 30_000);

    it("refuses to complete a task's execution, or an unknown one", async () => {
      const e = await engine();
      const run = e.submit(noteUrl, "x");
      await run.result();
      await expect(e.complete(run.id, { result: 1 })).rejects.toMatchObject({ code: "FLOE_INVALID_OPTION" });
      await expect(e.complete("no-such-id", { result: 1 })).rejects.toMatchObject({ code: "FLOE_UNKNOWN_EXECUTION" });
      expect((await e.getExecution(run.id))?.result).toBe("x");
    }, 30_000);
  });
}
