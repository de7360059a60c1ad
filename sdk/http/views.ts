/**
 * The JSON the HTTP API (`sdk/http/routes.ts`) answers with, as the `floe` command and the
 * dashboard read it, and the decoded views an `Engine` returns; `describe.ts` makes both.
 */
import type { Edge, ExecutionState, Transition } from "../engine/model.ts";
import type { WhyJson } from "./why.ts";

/** `GET /executions/{id}`, and each execution of `GET /runs/{id}`. */
export interface ExecutionJson {
  readonly id: string;
  readonly runId: string;
  readonly parentId?: string;
  readonly task: string;
  readonly state: ExecutionState;
  readonly attempt: number;
  readonly createdAt: number;
  readonly queuedAt?: number;
  /** The earliest start of a queued or waiting execution that has one: a delayed start, a retry's delay. */
  readonly notBefore?: number;
  /**
   * Set on an external execution (`external()`), completed from outside: when it fails with
   * `FLOE_TIMEOUT` if nothing completes it. Its callback token is never shown.
   */
  readonly external?: { readonly timeoutAt: number };
  /** When a `sleeping` execution wakes (its `sleep`'s time), epoch milliseconds as every time here. */
  readonly wakeAt?: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly history: readonly Transition[];
  /** The execution whose result this one returned. */
  readonly forward?: string;
  /**
   * Completed at its creation with a cached result (`cache`): the execution that computed
   * it. It never ran.
   */
  readonly cachedFrom?: string;
  /**
   * A debounced call superseded by a later call of its window (`debounce`): it never ran,
   * and its result is that of the execution in `forward`.
   */
  readonly debounced?: true;
  /** Its arguments; left out of a `since` answer's executions made before its cursor (see `RunJson.partial`). */
  readonly args?: unknown;
  /** The arguments as a call shows them (`1, undefined, "x"`), when each is a short plain value: JSON cannot show `undefined`. */
  readonly argsText?: string;
  readonly result?: unknown;
  readonly error?: ErrorJson;
  /** The latest failed attempts, oldest first (at most five: see `earlierFailures`). */
  readonly failures?: readonly FailedAttemptJson[];
  /** How many failed attempts came before those in `failures` (not kept). */
  readonly earlierFailures?: number;
  /**
   * Why an unfinished execution is not done: in `GET /runs/{id}` only, made from the run's
   * records and edges (see `why.ts`); none once finished.
   */
  readonly why?: WhyJson;
}

/** A failed execution's error. */
export interface ErrorJson {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** One failed attempt of an execution: when it ran and its error. */
export interface FailedAttemptJson {
  readonly attempt: number;
  readonly startedAt?: number;
  readonly finishedAt: number;
  /** `truncated` when the message was cut to the length kept (a cut stack says so in its last line). */
  readonly error: ErrorJson & { readonly truncated?: boolean };
}

/** `GET /runs/{id}`: every execution of a run and the dependency edges between them. */
export interface RunJson {
  readonly id: string;
  readonly executions: readonly ExecutionJson[];
  readonly edges: readonly Edge[];
  /**
   * Pass it as `since` (`GET /runs/{id}?since=<cursor>`) to read only what changed after
   * this view was read. Opaque. Every answer of the API has one.
   */
  readonly cursor?: string;
  /**
   * Set on a `since` answer: it holds only the executions that changed (and the edges that
   * did or are new), to fold into the view held by `mergeRun` (`sdk/http/merge-run.ts`),
   * replacing or adding each by id. An execution made before the cursor comes without its
   * `args` and `argsText` (arguments never change): a merge keeps those held.
   */
  readonly partial?: true;
}

/** One run of `GET /runs`: its root execution, without arguments or result. */
export type RunSummaryJson = Omit<ExecutionJson, "history" | "args" | "result" | "error" | "forward" | "failures" | "earlierFailures" | "why">;

/** `GET /runs`. */
export interface RunListJson {
  readonly runs: readonly RunSummaryJson[];
  /** Given with a full page: pass it as `cursor` for the next one. */
  readonly cursor?: string;
}

/** An error answer of the API. */
export interface ApiErrorJson {
  readonly error: { readonly code: string; readonly message: string; readonly fields?: Record<string, string> };
}

/**
 * An execution as an `Engine` gives it: {@link ExecutionJson} with its values decoded, not
 * JSON (an execution among them as `{ execution: id }`), and the error's stack.
 */
export interface ExecutionView<R = unknown> extends Omit<ExecutionJson, "args" | "result"> {
  readonly args: readonly unknown[];
  /** Its result, once completed (none when it forwarded another's: see `forward`). */
  readonly result?: R;
}

/**
 * A run as `Engine.getRun` gives it: {@link RunJson} with decoded values, and its `root`,
 * whose `result` is the run's (that of the execution it forwarded to, if it did, once done).
 */
export interface RunView<R = unknown> extends Omit<RunJson, "executions"> {
  readonly root: ExecutionView<R>;
  readonly executions: readonly ExecutionView[];
}

/** One run of `Engine.listRuns`: its root execution, as `GET /runs` gives it. */
export type RunSummary = RunSummaryJson;
