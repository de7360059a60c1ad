/**
 * The `Engine` a user holds: what `createEngine()` and `startLocalCloud()` return. A facade
 * over the runtime, not the runtime itself, so that its internals (the execution engine,
 * `submitWithin`, `process`, `dispatch`, the in-memory adapters) are out of a user's
 * reach; floe's own tools and tests reach them through the internal entries
 * (`createEmbeddedRuntime`, `startLocalCloudRuntime`), which the package does not export.
 */
import type { RunQuery } from "../engine/ports.ts";
import { executionView, runView, summary, type ReadPayload } from "../http/describe.ts";
import { badSince, cursorTime } from "../http/since-cursor.ts";
import type { ExecutionView, RunSummary, RunView } from "../http/views.ts";
import type { Execution } from "../runtime/execution.ts";
import type { ExternalOutcome, Runtime, Submittable } from "../runtime/runtime.ts";
import type { ExecutionState } from "../engine/model.ts";
import { ErrorCode, FloeError } from "../errors.ts";
import { rerunRefusal } from "../engine/rerun.ts";
import { mapRows, type MapArgs } from "./map-rows.ts";
import { lineJson, type ExecutionLogsJson } from "../logs/log-line.ts";

/**
 * An engine: the embedded one (`createEngine`) or the local cloud (`startLocalCloud`).
 * `submit` and `map` infer argument and result types from the task; the views it returns
 * are plain decoded objects, the HTTP API's shapes (`sdk/http/views.ts`).
 *
 * @example
 * const add = task("add", async (a: number, b: number) => a + b);
 * const engine = createEngine();
 * const sum = engine.submit(add, 1, 2);       // Execution<number>
 * const n: number = await sum.result();
 * const run = await engine.getRun(sum);       // RunView<number>: run?.root.result is a number
 * await engine.close();
 */
export interface Engine extends AsyncDisposable {
  /**
   * Starts a run of a workflow or task; returns its execution at once. By name, the
   * arguments and result are not typed.
   * @param target - a task or workflow, or its name
   * @param args - its arguments, checked against the task's parameters
   * @throws FloeError `FLOE_UNKNOWN_TASK`, `FLOE_NOT_SERIALIZABLE`, `FLOE_ENGINE_CLOSED`
   * @example
   * const sum = engine.submit(add, 1, 2); // Execution<number>
   */
  submit<A extends unknown[], R>(target: Submittable<A, R>, ...args: NoInfer<A>): Execution<R>;
  submit(target: string, ...args: unknown[]): Execution<unknown>;
  /**
   * Starts one run per item, as `task.map` does on the default engine: iterables are
   * zipped, `unmapped()` values passed to every call.
   * @example
   * const sums = engine.map(add, [1, 2, 3], unmapped(10)); // Execution<number>[]
   */
  map<A extends unknown[], R>(target: Submittable<A, R>, ...args: MapArgs<NoInfer<A>>): Execution<R>[];
  /**
   * A run's executions and edges, values decoded; `undefined` if unknown. Given the run's
   * root `Execution<R>`, `root.result` is typed `R`. Given `since` (a view's `cursor`),
   * only what changed after that view (`partial: true`), to fold in with `mergeRun`; its
   * executions made before that view come without `args` (they never change: the merge
   * keeps those held).
   * @param run - the run's id, or its root execution
   * @param options - `since`: the cursor of a view read before
   * @throws FloeError `FLOE_INVALID_OPTION` for a `since` that is not a cursor a view gave
   * @example
   * let view = await engine.getRun(run);
   * view = mergeRun(view, await engine.getRun(run, { since: view.cursor }));
   */
  getRun<R>(run: Execution<R>, options?: GetRunOptions): Promise<RunView<R> | undefined>;
  getRun(runId: string, options?: GetRunOptions): Promise<RunView | undefined>;
  /**
   * One execution, values decoded; `undefined` if unknown.
   * @param execution - its id, or the execution
   */
  getExecution<R>(execution: Execution<R>): Promise<ExecutionView<R> | undefined>;
  getExecution(id: string): Promise<ExecutionView | undefined>;
  /** Recent runs (their root executions), newest first. */
  listRuns(query?: RunQuery): Promise<RunSummary[]>;
  /**
   * The lines an execution's tasks logged (`log`, `console` inside the task), oldest first,
   * each with its attempt, as `GET /executions/{id}/logs` answers; `undefined` if unknown.
   * @param execution - its id, or the execution
   * @param options - `attempt`: only that attempt's lines
   * @example
   * const logs = await engine.getLogs(charge, { attempt: 2 });
   * for (const line of logs?.lines ?? []) console.log(line.at, line.level, line.message);
   */
  getLogs(execution: Execution<unknown> | string, options?: { readonly attempt?: number }): Promise<ExecutionLogsJson | undefined>;
  /**
   * Cancels an execution and, with it, its children.
   * @param execution - its id, or the execution
   * @throws FloeError `FLOE_UNKNOWN_EXECUTION` for an id this engine does not know
   */
  cancel(execution: Execution<unknown> | string): Promise<void>;
  /**
   * Runs a failed or cancelled run again, in place (same run id): every execution that
   * completed is reused, and what failed or was cancelled, with what depends on it, runs
   * again with a new attempt; the earlier failures stay in the run's history. As
   * `POST /executions/{id}/rerun` and `floe rerun <id>` do.
   * @param run - the run's root execution, or the id of any execution of the run
   * @returns the run's root execution, queued again
   * @throws FloeError `FLOE_UNKNOWN_EXECUTION` for an unknown id; `FLOE_CONFLICT` for a run
   *   that is live or completed (naming its state), or that another request re-ran first
   * @example
   * const run = engine.submit(report, "2026-12");
   * await run.result().catch(() => undefined);   // failed: a flaky upstream
   * const again = await engine.rerun(run);        // re-runs only what failed
   * console.log(await again.result());
   */
  rerun<R>(run: Execution<R>): Promise<Execution<R>>;
  rerun(id: string): Promise<Execution<unknown>>;
  /**
   * Completes an external execution (see `external`) with a result or an error, as
   * `POST /executions/{id}/complete` does; answers its state after.
   * @param execution - its id, or the execution
   * @param outcome - `{ result }`, or `{ error: { message, code? } }`
   * @throws FloeError `FLOE_UNKNOWN_EXECUTION` for an unknown id; `FLOE_INVALID_OPTION` for one
   *   that is not external, or has finished (completed, failed, timed out or cancelled)
   * @example
   * await engine.complete(approvalId, { result: { approved: true } });
   */
  complete(execution: Execution<unknown> | string, outcome: ExternalOutcome): Promise<{ readonly id: string; readonly state: ExecutionState }>;
  /** Stops the engine: queued work is dropped, and waiting on its executions fails. */
  close(): Promise<void>;
}

/** Settings of {@link Engine.getRun}. */
export interface GetRunOptions {
  /**
   * The `cursor` of a view of the run read before: only what changed after it.
   * @default undefined (the whole run)
   */
  readonly since?: string;
}

/**
 * The facade of `runtime`: the one object a user gets.
 * @param runtime - the runtime it submits to and reads from
 */
export function engineOf(runtime: Runtime): Engine {
  const read: ReadPayload = (payload) => runtime.engine.read(payload);
  const idOf = (target: Execution<unknown> | string) => (typeof target === "string" ? target : target.id);
  const views = { errorStacks: true };
  const engine = {
    submit: (target: Submittable<unknown[], unknown> | string, ...args: unknown[]) =>
      typeof target === "string" ? runtime.submit(target, ...args) : runtime.submit(target, ...args),
    map: (target: Submittable<unknown[], unknown>, ...args: unknown[]) =>
      mapRows(target.definition.name, args, target.definition.options.input).map((row) => runtime.submit(target, ...row)),
    getRun: async (target: Execution<unknown> | string, options: GetRunOptions = {}) => {
      const since = options.since === undefined ? undefined : cursorTime(options.since);
      if (options.since !== undefined && since === undefined) throw new FloeError(ErrorCode.InvalidOption, badSince(options.since));
      const readAt = runtime.now();
      const run = await runtime.getRun(idOf(target));
      return run === undefined ? undefined : runView(run, read, { ...views, readAt, since });
    },
    getExecution: async (target: Execution<unknown> | string) => {
      const record = await runtime.getExecution(idOf(target));
      return record === undefined ? undefined : executionView(record, read, views);
    },
    listRuns: async (query?: RunQuery) => (await runtime.listRuns(query)).map(summary),
    getLogs: async (target: Execution<unknown> | string, options: { readonly attempt?: number } = {}) => {
      const record = await runtime.getExecution(idOf(target));
      if (record === undefined) return undefined;
      const page = await runtime.readLogs(record, options.attempt);
      return { executionId: record.id, lines: page.lines.map(lineJson), ...(page.dropped === undefined ? {} : { dropped: page.dropped }), ...(page.truncated === true ? { truncated: true } : {}) };
    },
    cancel: (target: Execution<unknown> | string) => cancelById(runtime, idOf(target)),
    complete: (target: Execution<unknown> | string, outcome: ExternalOutcome) => completeById(runtime, idOf(target), outcome),
    rerun: (target: Execution<unknown> | string) => rerunById(runtime, idOf(target)),
    close: () => runtime.close(),
    [Symbol.asyncDispose]: () => runtime.close(),
  };
  return Object.freeze(engine) as Engine;
}

/** Cancels on `runtime` whatever engine the execution came from; an unknown id throws first. */
async function cancelById(runtime: Runtime, id: string): Promise<void> {
  const execution = runtime.reference(id);
  await runtime.state(execution);
  await runtime.cancel(execution);
}

/** Re-runs on `runtime` the run of execution `id`; a refusal throws, naming the run's state. */
async function rerunById(runtime: Runtime, id: string): Promise<Execution<unknown>> {
  const done = await runtime.rerun(id);
  switch (done.status) {
    case "started":
      return runtime.reference(done.record.id);
    case "unknown":
      throw new FloeError(ErrorCode.UnknownExecution, `no execution has the id "${id}"`);
    case "refused":
      throw new FloeError(ErrorCode.Conflict, rerunRefusal(done.record));
    default:
      throw new Error(`unknown re-run outcome ${JSON.stringify(done satisfies never)}`);
  }
}

/** Completes an external execution on `runtime`; anything but a completion throws, naming why. */
async function completeById(runtime: Runtime, id: string, outcome: ExternalOutcome): Promise<{ readonly id: string; readonly state: ExecutionState }> {
  const done = await runtime.complete(id, outcome);
  switch (done.status) {
    case "completed":
      return { id, state: done.record.state };
    case "unknown":
      throw new FloeError(ErrorCode.UnknownExecution, `no execution has the id "${id}"`);
    case "not-external":
      throw new FloeError(ErrorCode.InvalidOption, `execution ${id} is a task's ("${done.record.taskName}"), not an external one: only its code completes it`);
    case "finished":
      throw new FloeError(ErrorCode.InvalidOption, `external execution ${id} is ${done.record.state} already: a completion counts once, before its timeout`);
    default:
      throw new Error(`unknown completion ${JSON.stringify(done satisfies never)}`);
  }
}
