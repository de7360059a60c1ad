/**
 * The tasks of the inline conformance suite (`inline.ts`): `inline` tasks awaited in the
 * call form, and the other ways of running them.
 */
import { task, taskContext, workflow } from "floe";
import { count, latch } from "./probes.ts";
import { double } from "./tasks.ts";

/** One step of a chain: counts its runs under `key`, says which execution ran it. */
export const step = task("ci_step", { inline: true }, async (key: string, x: number) => {
  count(key);
  return { value: x + 1, ran: taskContext()?.executionId, attempt: taskContext()?.attempt };
});

/** Awaits `steps` inline calls one after another. */
export const chain = workflow("ci_chain", async (key: string, steps: number) => {
  count(key);
  let x = 0;
  const ran: (string | undefined)[] = [];
  for (let i = 0; i < steps; i += 1) {
    const out = await step(`${key}-step`, x);
    x = out.value;
    ran.push(out.ran);
  }
  return { x, ran };
});

/** Submits the inline task instead of calling it: the usual path. */
export const submitsStep = workflow("ci_submits_step", async (key: string) => (await step.submit(`${key}-step`, 1).result()).value);

/** A task without the option, called: the usual path. */
export const plain = task("ci_plain", async (x: number) => x + 1);
export const callsPlain = workflow("ci_calls_plain", async (x: number) => plain(x));

/** Fails its first attempt; retried on its queue. */
export const flakyStep = task("ci_flaky_step", { inline: true, retries: { limit: 2, delayMs: 5 } }, async (key: string) => {
  count(key);
  const attempt = taskContext()?.attempt ?? 0;
  if (attempt === 1) throw new Error("first attempt fails");
  return `attempt ${attempt}`;
});
export const callsFlaky = workflow("ci_calls_flaky", async (key: string) => flakyStep(key));

class ValidationError extends Error {
  override name = "ValidationError";
}

/** Fails, without retries. */
export const failingStep = task("ci_failing_step", { inline: true }, async (message: string) => {
  throw new ValidationError(message);
});
export const catchesFailure = workflow("ci_catches_failure", async (message: string) => {
  try {
    return await failingStep(message);
  } catch (error) {
    return `caught ${(error as Error).name}: ${(error as Error).message}`;
  }
});

/** Calls an inline step, then awaits a queued child: a cloud worker suspends and re-runs it. */
export const reusesStep = workflow("ci_reuses_step", async (key: string) => {
  count(key);
  const first = await step(`${key}-step`, 1);
  return first.value + (await double.submit(5).result());
});

/** An inline task that submits a child and awaits it (suspending on a cloud worker). */
export const submitsChild = task("ci_submits_child", { inline: true }, async (x: number) => ({
  doubled: await double.submit(x).result(),
  ran: taskContext()?.executionId,
}));
export const callsSubmitter = workflow("ci_calls_submitter", async (x: number) => submitsChild(x));

/** Waits until its signal fires (a cancellation), then counts it under `key`. */
export const waitsForAbort = task("ci_waits_for_abort", { inline: true }, async (key: string) => {
  count(`${key}-started`);
  const signal = taskContext()?.signal;
  await new Promise((resolve) => signal?.addEventListener("abort", resolve));
  count(`${key}-aborted`);
});
export const callsAbortable = workflow("ci_calls_abortable", async (key: string) => waitsForAbort(key));

/** Runs past its timeout. */
export const slowStep = task("ci_slow_step", { inline: true, timeoutMs: 100 }, async (gate: string) => latch(gate));
export const callsSlow = workflow("ci_calls_slow", async (gate: string) => {
  try {
    await slowStep(gate);
    return "finished";
  } catch (error) {
    return (error as { code?: string }).code;
  }
});

/** Counts its runs under `key`, then waits for the latch `key`. */
export const gatedStep = task("ci_gated_step", { inline: true }, async (key: string) => {
  count(key);
  await latch(key);
  return "opened";
});

/** Awaits an inline call and a queued child together: a cloud worker suspends on the child meanwhile. */
export const callsBoth = workflow("ci_calls_both", async (key: string) => Promise.all([gatedStep(key), double.submit(1).result()]));

/** Runs past its own timeout while its inline call waits. */
export const callerTimesOut = workflow("ci_caller_times_out", { timeoutMs: 100 }, async (key: string) => gatedStep(key));
