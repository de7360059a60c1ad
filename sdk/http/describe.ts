/**
 * Makes the views of `views.ts` from the store's records: the decoded views an `Engine`
 * returns, and the JSON the HTTP API answers with, one made from the other so the two
 * never differ but in how values are written.
 */
import { decodeError, decodeValue } from "../codec/codec.ts";
import { previewArgs } from "../codec/preview.ts";
import { State, type ExecutionRecord, type FailedAttempt, type Payload, type RunView as StoredRun } from "../engine/model.ts";
import type { MaybePromise } from "../engine/step.ts";
import { whyOf } from "./why.ts";
import { changesSince, SINCE_OVERLAP_MS } from "./run-changes.ts";
import { sinceCursor } from "./since-cursor.ts";
import type { ErrorJson, ExecutionJson, FailedAttemptJson, ExecutionView, RunJson, RunSummaryJson, RunView } from "./views.ts";

/** Reads a payload's text, inline or from the blob store (`ExecutionEngine.read`). */
export type ReadPayload = (payload: Payload) => MaybePromise<string>;

/** Settings of {@link executionView}. */
export interface DescribeOptions {
  /**
   * Include an error's stack (see `RoutesOptions.errorStacks`).
   * @default false
   */
  readonly errorStacks?: boolean;
}

/** Settings of {@link runView}. */
export interface RunViewOptions extends DescribeOptions {
  /** When the run was read (before the read began), on the reader's clock: the view's cursor. */
  readonly readAt?: number;
  /**
   * The time a `since` cursor holds: then the view is partial, only what changed after it
   * less {@link SINCE_OVERLAP_MS} (see `run-changes.ts`).
   */
  readonly since?: number;
}

/**
 * A run's root execution as `GET /runs` lists it: no arguments, result or error.
 * @param record - the stored root execution
 */
export function summary(record: ExecutionRecord): RunSummaryJson {
  return {
    id: record.id,
    runId: record.runId,
    parentId: record.parentId,
    task: record.taskName,
    state: record.state,
    attempt: record.attempt,
    createdAt: record.createdAt,
    queuedAt: record.queuedAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    ...dueAt(record),
    ...(record.external === undefined ? {} : { external: { timeoutAt: record.external.timeoutAt } }),
    ...(record.cachedFrom === undefined ? {} : { cachedFrom: record.cachedFrom }),
    ...(record.debounced === true ? { debounced: true as const } : {}),
  };
}

/**
 * A queued or waiting execution's earliest start, when it has one to come (a delayed start,
 * a retry's delay), or a sleeping one's wake time.
 */
function dueAt(record: ExecutionRecord): { notBefore?: number; wakeAt?: number } {
  if (record.state === State.Sleeping && record.notBefore !== undefined) return { wakeAt: record.notBefore };
  // An external's notBefore is its timeout, shown as such (`external`): it never starts.
  const blocked = (record.state === State.Queued || record.state === State.Waiting) && record.external === undefined;
  return blocked && record.notBefore !== undefined && record.notBefore > (record.queuedAt ?? record.createdAt) ? { notBefore: record.notBefore } : {};
}

/**
 * An execution's view, its values decoded.
 * @param record - the stored execution
 * @param read - reads its payloads
 * @param options - whether to keep the error's stack
 */
export async function executionView(record: ExecutionRecord, read: ReadPayload, options: DescribeOptions = {}): Promise<ExecutionView> {
  const args = decodeValue(await read(record.args)) as unknown[];
  const view: { -readonly [K in keyof ExecutionView]: ExecutionView[K] } = {
    ...summary(record),
    history: record.history,
    forward: record.forward,
    args,
    // JSON shows an undefined argument as null; the preview, made from the decoded values, does not.
    argsText: previewArgs(args),
  };
  if (record.result !== undefined && record.state === "completed") view.result = decodeValue(await read(record.result));
  if (record.error !== undefined && record.state !== "completed") view.error = errorJson(decodeError(await read(record.error)), options);
  if (record.failures !== undefined) view.failures = record.failures.map((failure) => failed(failure, options.errorStacks === true));
  if (record.earlierFailures !== undefined) view.earlierFailures = record.earlierFailures;
  return view;
}

/** A failed attempt as a view shows it: its stack only where stacks are allowed. */
function failed(failure: FailedAttempt, stacks: boolean): FailedAttemptJson {
  const { stack, ...error } = failure.error;
  return { ...failure, error: stacks && stack !== undefined ? { ...error, stack } : error };
}

function errorJson(decoded: unknown, options: DescribeOptions): ErrorJson {
  const error = decoded as Error & { code?: string };
  return { name: error.name, message: error.message, code: error.code, ...(options.errorStacks === true ? { stack: error.stack } : {}) };
}

/**
 * A run's view: every execution decoded, each unfinished one with its `why`, the root's
 * `result` the run's (see `RunView.root`). Given `since`, only what changed after it (a
 * `why` is still made from the whole run).
 * @param run - the stored run
 * @param read - reads its payloads
 * @param options - the stacks, and the read's time and `since` cursor
 */
export async function runView(run: StoredRun, read: ReadPayload, options: RunViewOptions = {}): Promise<RunView> {
  const { since, readAt } = options;
  const after = since === undefined ? undefined : since - SINCE_OVERLAP_MS;
  const shown = after === undefined ? run : changesSince(run, after);
  const executions = await Promise.all(
    shown.executions.map(async (e) => {
      const view = await executionView(e, read, options);
      const why = whyOf(e, run);
      const shownView = why === undefined ? view : { ...view, why };
      // Arguments never change: a since view sends them with the execution's creation only
      // (a join's are its thousands of upstreams), and `mergeRun` keeps those held.
      return after !== undefined && e.createdAt < after ? withoutArgs(shownView) : shownView;
    }),
  );
  const byId = new Map(executions.map((e) => [e.id, e]));
  const root = byId.get(run.id) ?? (await executionView(run.root, read, options));
  return {
    id: run.id,
    root: { ...root, ...forwardedResult(root, byId) },
    executions,
    edges: shown.edges,
    ...(readAt === undefined ? {} : { cursor: sinceCursor(readAt) }),
    ...(since === undefined ? {} : { partial: true as const }),
  };
}

/** A view without its arguments, as a since view sends an execution made before its cursor. */
function withoutArgs(view: ExecutionView): ExecutionView {
  const { args: _args, argsText: _argsText, ...rest } = view;
  // Typed as a view for the merge that gives its arguments back (`mergeRun`).
  return rest as ExecutionView;
}

/** The result a forwarding root resolves to, when the executions it forwards to are in the run and done. */
function forwardedResult(root: ExecutionView, byId: ReadonlyMap<string, ExecutionView>): { result?: unknown } {
  const seen = new Set<string>();
  let current: ExecutionView | undefined = root;
  while (current?.forward !== undefined && !seen.has(current.id)) {
    seen.add(current.id);
    current = byId.get(current.forward);
  }
  return current !== root && current?.state === "completed" && current.forward === undefined ? { result: current.result } : {};
}

/** An execution's view as JSON: what `GET /executions/{id}` answers. */
export function executionJson(view: ExecutionView): ExecutionJson {
  const { args, result, error, ...rest } = view;
  // In the order the API has always answered with.
  return {
    ...rest,
    // A since view leaves out the arguments of an execution made before its cursor.
    ...("args" in view ? { args: toJson(args) } : {}),
    ...("result" in view ? { result: toJson(result) } : {}),
    ...(error === undefined ? {} : { error }),
  };
}

/** A run's view as JSON: what `GET /runs/{id}` answers (no `root`: it is among the executions). */
export function runJson(view: RunView): RunJson {
  const { cursor, partial } = view;
  return { id: view.id, executions: view.executions.map(executionJson), edges: view.edges, ...(cursor === undefined ? {} : { cursor }), ...(partial === undefined ? {} : { partial }) };
}

/** A decoded value as plain JSON: dates as ISO strings, BigInts as strings, maps as entries. */
function toJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof Map) return [...v.entries()];
      if (v instanceof Set) return [...v.values()];
      if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
      if (v instanceof Error) return { name: v.name, message: v.message };
      return v;
    }) ?? "null",
  );
}
