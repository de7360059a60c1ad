/**
 * Re-runs of a failed or cancelled run, in place (see ARCHITECTURE.md, "Re-runs of a
 * run"): the root is queued again with a new attempt and generation, and each execution
 * its code (or a descendant's) submits again that had failed or been cancelled before the
 * re-run is reset the same way, while completed ones return their results at once. Each
 * execution carries the number of the re-run it last started in (`rerun`), so only what
 * ended before the current re-run is reset, once.
 */
import { State, WaitMode, type ExecutionRecord, type ExecutionState } from "./model.ts";

/** The states a run's root may be re-run from, and an execution submitted again reset from. */
export const RERUNNABLE: readonly ExecutionState[] = [State.Failed, State.Cancelled];

/** Whether `record` may be re-run: it failed or was cancelled. */
export function isRerunnable(record: ExecutionRecord): boolean {
  return RERUNNABLE.includes(record.state);
}

/**
 * Whether `child`, found by a submission of a parent in re-run `rerun`, ended before that
 * re-run began, and so runs again. One that failed in this re-run stays failed: a retry of
 * its parent sees its failure, as without re-runs.
 */
export function endedBeforeRerun(child: ExecutionRecord, rerun: number | undefined): boolean {
  return rerun !== undefined && (child.rerun ?? 0) < rerun && isRerunnable(child);
}

/**
 * The changes that start `record` again in re-run `rerun`: a new attempt (whose retries
 * count from it) and a new generation, waiting for `waitOn` upstreams (guarded, as a
 * registration is) or queued at once. Its earlier outcome goes; its history and failed
 * attempts stay.
 */
export function rerunChanges(record: ExecutionRecord, rerun: number, waitOn: number, now: number): Partial<ExecutionRecord> {
  const attempt = record.attempt + 1;
  const waits = waitOn > 0;
  return {
    state: waits ? State.Waiting : State.Queued,
    attempt,
    generation: record.generation + 1,
    pending: waitOn,
    guarded: waits,
    waitMode: WaitMode.All,
    result: undefined,
    forward: undefined,
    error: undefined,
    notBefore: undefined,
    wakes: undefined,
    queuedAt: waits ? undefined : now,
    startedAt: undefined,
    finishedAt: undefined,
    rerun,
    rerunFrom: attempt,
  };
}

/** The attempt's number within its re-run (what its retry policy counts): the attempt itself outside one. */
export function attemptInRerun(record: Pick<ExecutionRecord, "attempt" | "rerunFrom">): number {
  return record.attempt - (record.rerunFrom ?? 1) + 1;
}

/**
 * Why a re-run of `root`'s run was refused: the message names its state and what to do.
 * @param root - the run's root, as found
 */
export function rerunRefusal(root: ExecutionRecord): string {
  const what = root.state === State.Completed ? "it completed, so there is nothing to re-run" : "it is still live; wait for it to finish, or cancel it first";
  return `run ${root.id} is ${root.state}: only a failed or cancelled run can be re-run, and ${what}`;
}
