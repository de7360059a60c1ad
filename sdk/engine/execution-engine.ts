/**
 * The execution engine: the state machine of DESIGN section 2, over the ports. It
 * decides; the adapters behind the ports do the I/O. Every step is a conditional write,
 * so a duplicate delivery, a retried call or a stale worker changes nothing.
 * See ARCHITECTURE.md beside this file.
 */
import type { BlobStore, Clock, ExecutionStore, Expectation, LimitWaiter, Release, ReleaseOptions, TaskQueue } from "./ports.ts";
import { all, call, drive, isPromiseLike, pooled, type MaybePromise, type Step } from "./step.ts";
import { findWaitCycle } from "./wait-cycle.ts";
import { compact, isFull } from "./history.ts";
import { boundedError, withFailure, type ErrorFields } from "./failures.ts";
import { LimitGate } from "./limits.ts";
import { ErrorCode, FloeError, waitCycle } from "../errors.ts";
import { attemptInRerun, endedBeforeRerun, isRerunnable, rerunChanges } from "./rerun.ts";
import {
  EdgeKind,
  State,
  WaitMode,
  isTerminal,
  type Edge,
  type ExecutionRecord,
  type ExecutionState,
  type FailedAttempt,
  type Hold,
  type LimitKeys,
  type Payload,
  type RunView,
  type TaskMessage,
  type Transition,
} from "./model.ts";

/** What the engine needs to know of the tasks it runs. */
export interface TaskPolicy {
  /** The delay before the next attempt after `error` ended `attempt`, or `undefined` to fail. */
  retryDelayMs(taskName: string, error: unknown, attempt: number): number | undefined;
  /** Encodes an error for storage (the codec lives outside the engine). */
  encodeError(error: unknown): string;
  /**
   * The fields of an error {@link TaskPolicy.encodeError} encoded, for the failed attempt
   * kept with the execution. Without it the encoded text is the message.
   */
  errorFields?(encoded: string): ErrorFields;
}

/** The dependencies of an {@link ExecutionEngine}. */
export interface ExecutionEngineOptions {
  readonly store: ExecutionStore;
  readonly queue: TaskQueue;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly policy: TaskPolicy;
  /** Payloads longer than this many characters go to the blob store. */
  readonly blobThreshold: number;
  /** Told of every terminal transition this engine writes (for in-process waiters). */
  readonly onTerminal?: (record: ExecutionRecord) => void;
  /**
   * The widest fan-in whose edges a finishing execution releases itself. The edges of a
   * wider one are left to {@link ExecutionEngine.releaseDependents} (the coordinator on
   * AWS), which groups the releases of many upstreams into one write per downstream, so a
   * join of thousands is not thousands of writes to one item. A finite value also says a
   * coordinator runs: {@link ExecutionEngine.cancel} then leaves all its releases to it.
   * @default Infinity (the embedded engine has no coordinator)
   */
  readonly inlineFanIn?: number;
}

/**
 * The most edges released in one write: a DynamoDB transaction holds 100 items, and the
 * downstream is one of them.
 */
export const RELEASE_GROUP = 99;

/**
 * How many executions a cancellation writes at once: enough to cancel a run of 10,000
 * within an API's time limit, few enough to leave the client's connections (50 by
 * default in the AWS SDK) to others.
 */
export const CANCEL_WRITES_AT_ONCE = 32;

/**
 * How long after a held execution's admission its note may still be found before a release
 * takes its admitter for dead and sends its message again: far past a live admitter's send.
 */
export const ADMISSION_REPAIR_MS = 60_000;

/** A new execution, as the runtime describes it. */
export interface NewExecution {
  readonly id: string;
  readonly runId: string;
  readonly parentId?: string | undefined;
  readonly taskName: string;
  /** The encoded arguments. */
  readonly args: string;
  /** Ids of the executions the arguments reference. */
  readonly refs: readonly string[];
  /** The subset of `refs` that must finish before the execution starts. */
  readonly waitOn: readonly string[];
  /**
   * Asked once the record is created, before anything can start it: answers `undefined`
   * to go on, or a reason to cancel the new execution with instead (its parent was
   * cancelled by another process, whose sweep of the run may have come before this
   * record). Not asked when the record existed already.
   */
  readonly admit?: (() => MaybePromise<unknown>) | undefined;
  /**
   * A delayed start: the first attempt's earliest start, epoch milliseconds. The record is
   * `queued` (or `waiting`) with it as its `notBefore`, and its message is delayed to it.
   */
  readonly notBefore?: number | undefined;
  /** The W3C `traceparent` of the submitting span, kept on the record ({@link ExecutionRecord.trace}). */
  readonly trace?: string | undefined;
  /** A cached task's cache entry, written when it completes ({@link ExecutionRecord.cache}). */
  readonly cache?: { readonly key: string; readonly ttlMs: number } | undefined;
  /**
   * The re-run of the run its parent runs in ({@link ExecutionRecord.rerun}): a record found
   * failed or cancelled from before it is started again (see `rerun.ts`).
   */
  readonly rerun?: number | undefined;
  /** Its task's limits, with the keys it is counted under, computed from its arguments at submission. */
  readonly limits?: LimitKeys | undefined;
}

/** What {@link ExecutionEngine.rerun} did. */
export type RerunOutcome =
  /** The run's root was queued again: `record` as written. */
  | { readonly status: "started"; readonly record: ExecutionRecord }
  /** Nothing was written: the root is live or completed (another re-run may have just started it). */
  | { readonly status: "refused"; readonly record: ExecutionRecord }
  | { readonly status: "unknown" };

/** How an attempt ended, as the runtime reports it. */
export type Outcome =
  | { readonly type: "completed"; readonly result: string; readonly forward?: string }
  | { readonly type: "failed"; readonly error: unknown }
  | { readonly type: "suspended"; readonly on: readonly string[]; readonly mode: WaitMode }
  /** The code slept: the attempt ends and the execution runs again from the start at `until`. */
  | { readonly type: "sleeping"; readonly until: number; readonly wakes: readonly number[] };

/** A new external execution, as the runtime describes it (see {@link ExecutionEngine.createExternal}). */
export interface NewExternal {
  readonly id: string;
  readonly runId: string;
  readonly parentId: string;
  /** The name given to `external()`. */
  readonly taskName: string;
  /** Its arguments, encoded (none: what the views show of it). */
  readonly args: string;
  /** When it fails with `FLOE_TIMEOUT` if nothing completed it, epoch milliseconds. */
  readonly timeoutAt: number;
  /** The task whose queue carries its timeout message: its parent's (an external has no queue). */
  readonly routeTo: string;
}

/** What completing an external execution from outside came to. */
export type ExternalCompletion =
  | { readonly status: "completed"; readonly record: ExecutionRecord }
  | { readonly status: "unknown" }
  /** Not an external execution: a task's, which only its own code completes. */
  | { readonly status: "not-external"; readonly record: ExecutionRecord }
  /** Finished already (completed, failed, timed out or cancelled): nothing changed. */
  | { readonly status: "finished"; readonly record: ExecutionRecord };

const blocked: readonly ExecutionState[] = [State.Waiting, State.Suspended];
const live: readonly ExecutionState[] = [State.Waiting, State.Queued, State.Running, State.Suspended, State.Sleeping];
/** The states whose execution waits for its message: queued, or asleep until its wake time. */
const awaitingMessage: readonly ExecutionState[] = [State.Queued, State.Sleeping];

/**
 * The state machine of executions over the store, queue and blob ports. Each public method
 * runs an engine step (see `step.ts`): synchronously over the in-memory adapters,
 * asynchronously over the AWS ones.
 */
export class ExecutionEngine {
  readonly #o: ExecutionEngineOptions;
  readonly #inlineFanIn: number;
  readonly #gate: LimitGate | undefined;

  /** @param options - the ports and the task policy */
  constructor(options: ExecutionEngineOptions) {
    this.#o = options;
    this.#inlineFanIn = options.inlineFanIn ?? Infinity;
    this.#gate = options.store.limits === undefined ? undefined : new LimitGate(options.store.limits);
  }

  /** The store this engine writes to. */
  get store(): ExecutionStore {
    return this.#o.store;
  }

  /**
   * Creates an execution and, once every upstream it waits for has finished, queues it.
   * Idempotent: registering the same id again finishes an interrupted registration or
   * returns the existing record.
   */
  register(spec: NewExecution): MaybePromise<ExecutionRecord> {
    // Every submission comes here. One with no references, inline arguments and a store
    // that creates it at once is written without a step (the step's generator and results
    // were a fifth of the allocations of an embedded task); anything else takes the step.
    if (spec.refs.length === 0 && spec.args.length <= this.#o.blobThreshold) {
      const record = this.#newRecord(spec, { inline: spec.args });
      const created = this.#o.store.create(record);
      if (created === true && spec.admit === undefined) {
        const sent = this.#send(record);
        return isPromiseLike(sent) ? sent.then(() => record) : record;
      }
      return isPromiseLike(created)
        ? created.then((answer) => drive(this.#registered(spec, record, answer)))
        : drive(this.#registered(spec, record, created));
    }
    return drive(this.#register(spec));
  }

  *#register(spec: NewExecution): Step<ExecutionRecord> {
    // The links first, in this turn: a store may write them with upstreams created in the
    // same turn, not yet sent. A release that finds no downstream yet counts nothing, and
    // the registration reads every upstream after its record exists.
    const linking = spec.refs.length > 0 ? this.#o.store.addEdges(this.#argumentEdges(spec, this.#o.clock.now())) : undefined;
    if (isPromiseLike(linking)) linking.then(undefined, ignore);
    // Port calls on this path are awaited (yielded) only when they answer with a promise:
    // the in-memory adapters answer at once.
    let args = this.#payload(spec.id, "args", spec.args);
    if (isPromiseLike(args)) args = (yield args) as Payload;
    const record = this.#newRecord(spec, args);
    let created = this.#o.store.create(record);
    if (isPromiseLike(created)) created = (yield created) as boolean;
    return yield* this.#registered(spec, record, created, linking);
  }

  /** A new record for `spec`, waiting if it waits for anything and queued otherwise. */
  #newRecord(spec: NewExecution, args: Payload): ExecutionRecord {
    const now = this.#o.clock.now();
    const waits = spec.waitOn.length > 0;
    const state = waits ? State.Waiting : State.Queued;
    // Every field is present from the start, so all records share one shape.
    return {
      id: spec.id,
      runId: spec.runId,
      parentId: spec.parentId,
      taskName: spec.taskName,
      args,
      state,
      attempt: 1,
      generation: 1,
      pending: spec.waitOn.length,
      guarded: waits,
      waitMode: WaitMode.All,
      result: undefined,
      forward: undefined,
      error: undefined,
      notBefore: spec.notBefore,
      createdAt: now,
      queuedAt: waits ? undefined : now,
      startedAt: undefined,
      finishedAt: undefined,
      history: [{ state, at: now, attempt: 1 }],
      ...(spec.trace === undefined ? {} : { trace: spec.trace }),
      ...(spec.cache === undefined ? {} : { cache: spec.cache }),
      ...(spec.rerun === undefined ? {} : { rerun: spec.rerun }),
      ...(spec.limits === undefined ? {} : { limits: spec.limits }),
    };
  }

  /**
   * Creates an execution completed at once with a cached result (`cache`): the record
   * {@link register} makes, but `completed` with `source`'s result and `cachedFrom` naming
   * it, then the release a completion makes (a downstream may have linked to it already).
   * A conditional create like any other: a re-run of the caller finds it.
   */
  registerCached(spec: NewExecution, source: { readonly executionId: string; readonly result: Payload }): MaybePromise<ExecutionRecord> {
    const build = (payload: Payload): ExecutionRecord => {
      const base = this.#newRecord({ ...spec, waitOn: [], cache: undefined }, payload);
      const at = base.createdAt;
      return {
        ...base,
        state: State.Completed,
        result: source.result,
        queuedAt: undefined,
        finishedAt: at,
        history: [{ state: State.Completed, at, attempt: 1 }],
        cachedFrom: source.executionId,
      };
    };
    const create = (made: ExecutionRecord): MaybePromise<ExecutionRecord> => {
      const created = this.#o.store.create(made);
      const done = (answer: boolean): MaybePromise<ExecutionRecord> => {
        if (!answer) return made;
        const released = this.#terminated(made);
        return isPromiseLike(released) ? released.then(() => made) : made;
      };
      return isPromiseLike(created) ? created.then(done) : done(created);
    };
    const args = this.#payload(spec.id, "args", spec.args);
    return isPromiseLike(args) ? args.then((payload) => create(build(payload))) : create(build(args));
  }

  /**
   * Supersedes a debounced call's execution still `queued` for its first attempt by a later
   * call's (`forward`): one conditional write completes it forwarding there, marked
   * `debounced`, then the release a completion makes; its waiters follow the forward. Its
   * message, when it comes, finds it finished. Answers whether it was still queued.
   * @param result - the encoded reference to `forward`
   */
  supersede(id: string, result: string, forward: string): MaybePromise<boolean> {
    const now = this.#o.clock.now();
    const done = this.#o.store.update(
      id,
      { state: State.Queued, attempt: 1 },
      { state: State.Completed, finishedAt: now, result: { inline: result }, forward, debounced: true },
      { state: State.Completed, at: now, attempt: 1 },
    );
    return isPromiseLike(done) ? done.then((d) => this.#terminated(d)) : this.#terminated(done);
  }

  /**
   * Creates an execution its caller runs at once in its own process (an `inline` task
   * awaited in the call form): the record {@link register} makes, but `running` (attempt 1,
   * started now) and never queued, so nothing is sent. `spec` waits for and references no
   * execution. A conditional create like any other: answers the new record, or the one
   * found under its id (a re-run of the caller) with `created` false.
   */
  startInline(spec: NewExecution): MaybePromise<{ readonly record: ExecutionRecord; readonly created: boolean }> {
    return drive(this.#startInline(spec));
  }

  *#startInline(spec: NewExecution): Step<{ readonly record: ExecutionRecord; readonly created: boolean }> {
    const record = yield* call(this.inlineRecord(spec));
    return yield* call(this.writeInline(record));
  }

  /**
   * The record of an inline execution about to run, `running` (attempt 1, started now), not
   * written yet: a short one is written once, completed ({@link completeInline}), and one
   * that runs longer, fails or suspends is written first ({@link writeInline}).
   */
  inlineRecord(spec: NewExecution): MaybePromise<ExecutionRecord> {
    const build = (args: Payload): ExecutionRecord => {
      const base = this.#newRecord(spec, args);
      const at = base.createdAt;
      return { ...base, state: State.Running, queuedAt: undefined, startedAt: at, history: [{ state: State.Running, at, attempt: 1 }] };
    };
    const args = this.#payload(spec.id, "args", spec.args);
    return isPromiseLike(args) ? args.then(build) : build(args);
  }

  /** Writes an inline record made by {@link inlineRecord} unless its id exists; answers the record stored. */
  writeInline(record: ExecutionRecord): MaybePromise<{ readonly record: ExecutionRecord; readonly created: boolean }> {
    return drive(this.#writeInline(record));
  }

  *#writeInline(record: ExecutionRecord): Step<{ readonly record: ExecutionRecord; readonly created: boolean }> {
    if (yield* call(this.#o.store.create(record))) return { record, created: true };
    const found = yield* call(this.#o.store.get(record.id));
    if (found === undefined) throw new Error(`execution ${record.id} vanished while it was being created`);
    return { record: found, created: false };
  }

  /**
   * Starts again, in re-run `rerun` of its caller's run, an inline execution that failed or
   * was cancelled before it: one write expecting the state, attempt and generation found,
   * to `running` with a new attempt (from which its retries count) and generation, its
   * earlier outcome cleared (see `rerun.ts`). Of two re-runs of the caller at once, one
   * takes it.
   */
  restartInline(found: ExecutionRecord, rerun: number): MaybePromise<ExecutionRecord | undefined> {
    const now = this.#o.clock.now();
    const changes = { ...rerunChanges(found, rerun, 0, now), state: State.Running, queuedAt: undefined, startedAt: now };
    const expect = { state: found.state, attempt: found.attempt, generation: found.generation };
    return this.#advance(found, expect, changes, { state: State.Running, at: now, attempt: changes.attempt as number });
  }

  /**
   * Starts a new attempt of an inline execution a re-run of its caller found `running`: its
   * runner died with the caller's earlier attempt. Expects the attempt found, so one re-run
   * wins and the earlier runner can no longer commit; answers `undefined` to the others.
   */
  retakeInline(found: ExecutionRecord): MaybePromise<ExecutionRecord | undefined> {
    const now = this.#o.clock.now();
    const attempt = found.attempt + 1;
    return this.#o.store.update(found.id, { state: State.Running, attempt: found.attempt }, { attempt, startedAt: now }, { state: State.Running, at: now, attempt });
  }

  /**
   * Records the completion of an attempt run inline, as {@link finish} does, and answers
   * whether it was recorded: the caller uses the result it holds only then (a cancelled or
   * taken-over attempt does not commit). Where a coordinator runs, its release is left to
   * it, as a cancellation's is: nothing waits on an inline execution by an edge but a
   * re-run of its caller that lost a race to take it over, and a query per step is most
   * of what such a step would cost otherwise.
   */
  completeInline(record: ExecutionRecord, result: string, forward: string | undefined, written = true): MaybePromise<boolean> {
    const complete = (p: Payload) => (written ? this.#completeInline(record, p, forward) : drive(this.#completeUnwritten(record, p, forward)));
    const payload = this.#payload(record.id, "result", result);
    return isPromiseLike(payload) ? payload.then(complete) : complete(payload);
  }

  /**
   * Completes an inline execution whose record was never written: one conditional put of
   * the record completed, its history `running → completed`. A record found under its id
   * was written by another run of the caller (this runner never wrote one): this attempt's
   * outcome is not the one recorded.
   */
  *#completeUnwritten(record: ExecutionRecord, result: Payload, forward: string | undefined): Step<boolean> {
    const changes = this.#completion(result, forward);
    const done: ExecutionRecord = {
      ...record,
      ...changes,
      history: [...record.history, { state: State.Completed, at: changes.finishedAt, attempt: record.attempt }],
    };
    if (yield* call(this.#o.store.create(done))) {
      // Nothing waits on it by an edge (it had no record to link to): there is nothing to release.
      this.#o.onTerminal?.(done);
      return true;
    }
    return false;
  }

  #completeInline(record: ExecutionRecord, result: Payload, forward: string | undefined): MaybePromise<boolean> {
    const running = { state: State.Running, attempt: record.attempt };
    if (this.#inlineFanIn === Infinity) return this.#terminate(record, running, this.#completion(result, forward));
    const changes = this.#completion(result, forward);
    const done = this.#advance(record, running, changes, { state: State.Completed, at: changes.finishedAt, attempt: record.attempt });
    const told = (d: ExecutionRecord | undefined): boolean => {
      if (d === undefined) return false;
      this.#o.onTerminal?.(d);
      return true;
    };
    return isPromiseLike(done) ? done.then(told) : told(done);
  }

  /** Finishes a registration once the conditional create of `record` answered `created`. */
  /** @param linking - the argument edges' writing, when started already */
  *#registered(spec: NewExecution, record: ExecutionRecord, created: boolean, linking?: MaybePromise<void>): Step<ExecutionRecord> {
    if (created && spec.admit !== undefined) {
      const refused = yield* call(spec.admit());
      if (refused !== undefined) {
        const error = yield* call(this.#payload(record.id, "error/cancel", this.#o.policy.encodeError(refused)));
        return (yield* this.#cancelOne(record, error)) ?? record;
      }
    }
    let current = created ? record : yield* call(this.#o.store.get(spec.id));
    if (current === undefined) throw new Error(`execution ${spec.id} vanished while it was being created`);
    if (!created && endedBeforeRerun(current, spec.rerun)) {
      const restarted = yield* this.#restart(spec, current);
      if (restarted !== undefined) return restarted;
      // Another submission of the same re-run restarted it first: registered as found now.
      current = yield* call(this.#o.store.get(spec.id));
      if (current === undefined) throw new Error(`execution ${spec.id} vanished while it was being re-run`);
    }
    if (spec.refs.length > 0) yield* call(linking ?? this.#o.store.addEdges(this.#argumentEdges(spec, record.createdAt)));
    if (!current.guarded) {
      // A record found queued and never started may have lost its message: whoever created
      // it died between the put and the send. Sending again is safe (a duplicate is dropped
      // at claim), and the retry of that registration (a parent's retry, a client repeating
      // its request with the same idempotency key) is what sends it.
      // One a concurrency limit holds was sent nothing on purpose: it is noted where a freed
      // slot looks, so a parent's re-run submitting it again costs no pass through the gate.
      const lost = !created && current.state === State.Queued && current.startedAt === undefined && current.held?.by !== "concurrency";
      const sent = (created && spec.waitOn.length === 0) || lost ? this.#send(current) : undefined;
      if (isPromiseLike(sent)) yield sent;
      return current;
    }
    // Either this call created the record or an earlier one was interrupted before
    // removing the guard: finishing the registration is idempotent.
    return yield* this.#arm(current, spec.waitOn, EdgeKind.Argument, slotsIn(spec.refs));
  }

  /**
   * Starts again an execution found failed or cancelled from before its parent's re-run: a
   * new attempt and generation, waiting for its upstreams as a registration does (edges of
   * the new generation, then the upstreams read, then the guard removed), or queued at once.
   * The write expects the state, attempt and generation read, so of two submissions of
   * the same re-run one restarts it. Returns `undefined` when another did.
   */
  *#restart(spec: NewExecution, found: ExecutionRecord): Step<ExecutionRecord | undefined> {
    const now = this.#o.clock.now();
    const changes = rerunChanges(found, spec.rerun ?? 0, spec.waitOn.length, now);
    const expect = { state: found.state, attempt: found.attempt, generation: found.generation };
    const transition = { state: changes.state as ExecutionState, at: now, attempt: changes.attempt as number };
    const restarted = yield* call(this.#advance(found, expect, changes, transition));
    if (restarted === undefined) return undefined;
    if (spec.refs.length > 0) yield* call(this.#o.store.addEdges(this.#argumentEdges(spec, now, restarted)));
    if (restarted.guarded) return yield* this.#arm(restarted, spec.waitOn, EdgeKind.Argument, slotsIn(spec.refs));
    yield* call(this.#send(restarted));
    return restarted;
  }

  /**
   * Re-runs the failed or cancelled run that `id` (its root or any execution of it) belongs
   * to, in place: the root is queued again with a new attempt and generation and re-run
   * number, and its code's submissions reuse what completed and start again what failed or
   * was cancelled (see `rerun.ts`). One conditional write, expecting the root's state and
   * attempt as read, so of concurrent requests one starts the re-run and the rest are refused.
   */
  rerun(id: string): MaybePromise<RerunOutcome> {
    return drive(this.#rerun(id));
  }

  *#rerun(id: string): Step<RerunOutcome> {
    const found = yield* call(this.#o.store.get(id));
    if (found === undefined) return { status: "unknown" };
    const root = found.runId === found.id ? found : yield* call(this.#o.store.get(found.runId));
    if (root === undefined) return { status: "unknown" };
    if (!isRerunnable(root)) return { status: "refused", record: root };
    const now = this.#o.clock.now();
    const changes = rerunChanges(root, (root.rerun ?? 0) + 1, 0, now);
    const expect = { state: root.state, attempt: root.attempt, generation: root.generation };
    const transition = { state: State.Queued, at: now, attempt: changes.attempt as number };
    const queued = yield* call(this.#advance(root, expect, changes, transition));
    if (queued === undefined) {
      const after = yield* call(this.#o.store.get(root.id));
      return after === undefined ? { status: "unknown" } : { status: "refused", record: after };
    }
    yield* call(this.#send(queued));
    return { status: "started", record: queued };
  }

  /** @param restarted - the record started again by a re-run, whose generation and attempt its edges take */
  #argumentEdges(spec: NewExecution, now: number, restarted?: ExecutionRecord): Edge[] {
    // A join waits for all its references or none: no set of thousands to ask.
    const every = spec.waitOn === spec.refs || spec.waitOn.length === spec.refs.length;
    const waitOn = every || spec.waitOn.length === 0 ? undefined : new Set(spec.waitOn);
    const waitsAll = every && spec.refs.length > 0;
    return spec.refs.map<Edge>((upstreamId, slot) => ({
      upstreamId,
      downstreamId: spec.id,
      runId: spec.runId,
      kind: EdgeKind.Argument,
      waits: waitOn === undefined ? waitsAll : waitOn.has(upstreamId),
      generation: restarted?.generation ?? 1,
      fanIn: spec.waitOn.length,
      slot,
      attempt: restarted?.attempt ?? 1,
      released: false,
      createdAt: now,
    }));
  }

  /**
   * Releases the edges of upstreams that finished before the edges existed (an upstream
   * only releases the edges it can see when it finishes), then removes the guard, if any.
   */
  *#arm(record: ExecutionRecord, upstreamIds: readonly string[], kind: EdgeKind, slotOf: (id: string) => number): Step<ExecutionRecord> {
    let upstreams = this.#o.store.getMany(upstreamIds);
    if (isPromiseLike(upstreams)) upstreams = (yield upstreams) as (ExecutionRecord | undefined)[];
    const finished = upstreams.filter((u): u is ExecutionRecord => u !== undefined && isTerminal(u.state));
    if (finished.length > 0) {
      const fanIn = record.waitMode === WaitMode.Any ? 1 : upstreamIds.length;
      const edges = finished.map((u) => this.#edge(record, u.id, kind, fanIn, slotOf(u.id)));
      yield* all(groupByDownstream(edges).map((group) => this.#releaseGroup(group)));
    }
    // A suspension has no guard (see #suspend): its releases above queue it when they bring it to zero.
    if (!record.guarded) return record;
    const armed = yield* call(
      this.#o.store.update(record.id, { guarded: true, generation: record.generation }, { guarded: false }),
    );
    if (armed !== undefined) yield* this.#queueIfReady(armed);
    return armed ?? record;
  }

  #edge(record: ExecutionRecord, upstreamId: string, kind: EdgeKind, fanIn: number, slot: number): Edge {
    return {
      upstreamId,
      downstreamId: record.id,
      runId: record.runId,
      kind,
      waits: true,
      generation: record.generation,
      fanIn,
      slot,
      attempt: record.attempt,
      released: false,
      createdAt: this.#o.clock.now(),
    };
  }

  /** Queues a blocked execution whose counter is at zero and whose guard is gone; one caller wins. */
  *#queueIfReady(record: ExecutionRecord): Step<void> {
    if (!isReady(record)) return;
    const now = this.#o.clock.now();
    let queued = this.#advance(
      record,
      { state: blocked, generation: record.generation, guarded: false, pending: 0 },
      { state: State.Queued, queuedAt: now },
      { state: State.Queued, at: now, attempt: record.attempt },
    );
    if (isPromiseLike(queued)) queued = (yield queued) as ExecutionRecord | undefined;
    const sent = queued === undefined ? undefined : this.#send(queued);
    if (isPromiseLike(sent)) yield sent;
  }

  #send(record: ExecutionRecord, delayMs?: number): MaybePromise<void> {
    // Every queueing's message passes the limits of its task first (a wake-up's is claimed
    // against them instead: see #wake).
    if (this.#gate !== undefined && record.limits !== undefined && record.state === State.Queued) return drive(this.#gatedVoid(record, delayMs));
    return this.#post(record, delayMs);
  }

  /**
   * Sends a queued execution's message once its limits admit it; answers whether it did.
   * Over a concurrency limit, it is held: its record says so first, then it is noted where a
   * freed slot looks, then the slots are read again (a release vacates before it reads the
   * notes, so of the two one sees the other). A record held already (a resend) is
   * noted again, which repairs a note its holder died before writing.
   */
  *#gated(record: ExecutionRecord, delayMs?: number): Step<boolean> {
    const gate = this.#gate as LimitGate;
    const concurrency = record.limits?.concurrency;
    if (concurrency !== undefined) {
      const key = gate.concurrencyKey(record);
      const slot = yield* gate.acquire(record);
      if (record.held?.by === "concurrency" || !slot.admitted) {
        let held = record;
        if (held.held?.by !== "concurrency") {
          const hold: Hold = { by: "concurrency", since: this.#o.clock.now(), limit: concurrency.limit };
          const written = yield* call(this.#o.store.update(record.id, { state: State.Queued, attempt: record.attempt }, { held: hold }));
          if (written === undefined) return false;
          held = written;
        }
        const waiter = { id: held.id, since: (held.held as Hold).since };
        if (!slot.admitted) {
          yield* gate.note(key, waiter);
          // The second look is a read (a fifth of a write's price), and most often finds no
          // room: only room found is taken, by a write that may still find none.
          const look = yield* gate.slots(key, [held.id]);
          if (look.holding.length === 0 && look.holders >= concurrency.limit) return false;
          if (!(yield* gate.acquire(held)).admitted) return false;
        }
        return yield* this.#admitNoted(held, key, waiter, held.id);
      }
    }
    return yield* this.#start(record, delayMs);
  }

  /**
   * Starts a held execution that now has a slot: its hold is cleared by a write expecting
   * that hold, so of admitters racing for it (releases, a resend) one sends its message;
   * its note is forgotten after the send, so a queued execution with no message on the way
   * is always noted (see #admitHeld for an admitter that died in between).
   */
  *#admitNoted(record: ExecutionRecord, key: string, waiter: LimitWaiter, by: string): Step<boolean> {
    const expect = { state: State.Queued, attempt: record.attempt, heldSince: record.held?.since ?? waiter.since };
    const admittedAt = this.#o.clock.now();
    let cleared: ExecutionRecord | undefined;
    try {
      cleared = yield* call(this.#o.store.update(record.id, expect, { held: undefined, admittedAt, admittedBy: by }));
    } catch (error) {
      // The write may have applied with its answer lost: then this admitter, chosen by it,
      // sends. A retry of the coordinator's batch would find the slots full, the admitted
      // execution holding one, and look no further.
      const found = yield* call(this.#o.store.get(record.id));
      if (found?.state !== State.Queued || found.held !== undefined || found.admittedBy !== by || found.admittedAt !== admittedAt) throw error;
      cleared = found;
    }
    if (cleared === undefined) return false;
    const sent = yield* this.#start(cleared);
    yield* (this.#gate as LimitGate).forget(key, waiter);
    return sent;
  }

  /**
   * Sends an admitted execution's message, at the start its rate limit gives it: one later
   * than due is written to the record (`notBefore`, with the hold saying why), so an early
   * delivery cannot start it and a resend keeps that start.
   */
  *#start(record: ExecutionRecord, delayMs?: number): Step<boolean> {
    if (record.limits?.rate === undefined) {
      yield* call(this.#post(record, delayMs));
      return true;
    }
    const rate = record.limits.rate;
    const now = this.#o.clock.now();
    const due = Math.max(now, record.notBefore ?? now);
    const at = yield* (this.#gate as LimitGate).reserve(record, now, due);
    if (at <= due) {
      yield* call(this.#post(record, delayMs));
      return true;
    }
    const hold: Hold = { by: "rate", since: now, limit: rate.limit, periodMs: rate.periodMs, until: at, attempt: record.attempt };
    const delayed = yield* call(this.#o.store.update(record.id, { state: State.Queued, attempt: record.attempt }, { notBefore: at, held: hold }));
    if (delayed !== undefined) yield* call(this.#post(delayed, at - now));
    return delayed !== undefined;
  }

  /**
   * Frees the concurrency slot of an execution that finished, suspended or slept, then
   * admits the oldest held executions while slots are free. Idempotent. A `repair` (a
   * redelivered message of a finished execution: the release before it failed) sends
   * again the message of an execution its failed release admitted and left noted
   * (`admittedBy`), and looks on through the notes it read past a refusal.
   */
  *#freeSlot(record: ExecutionRecord, mode: "release" | "repair" = "release"): Step<void> {
    const gate = this.#gate;
    if (gate === undefined || record.limits?.concurrency === undefined) return;
    yield* gate.vacate(record);
    yield* this.#admitHeld(gate.concurrencyKey(record), record.id, mode);
  }

  /**
   * Admits held executions of one concurrency limit, oldest first, until one finds no slot.
   * A note whose execution is no longer held was admitted by another, whose message is on
   * the way; one admitted over {@link ADMISSION_REPAIR_MS} ago whose note is still here
   * lost its admitter between the send and the forget (or before the send), so it is sent
   * again (a duplicate is dropped at claim). A note of a finished execution is dropped.
   */
  *#admitHeld(key: string, by: string, mode: "release" | "backstop" | "repair"): Step<void> {
    const gate = this.#gate as LimitGate;
    let after: LimitWaiter | undefined;
    let full = false;
    // Bounded: a release admits one or a few, and scans past notes others are admitting.
    for (let page = 0; page < 16; page += 1) {
      const waiters = yield* gate.waiters(key, after);
      if (waiters.length === 0 || full) return;
      for (const waiter of waiters) {
        after = waiter;
        const found = yield* call(this.#o.store.get(waiter.id));
        if (found === undefined || found.state !== State.Queued) {
          // One admitted and started is its admitter's to forget: releases reading the same
          // notes at once would each delete it otherwise.
          if (found === undefined || found.admittedAt === undefined || isTerminal(found.state)) yield* gate.forget(key, waiter);
          continue;
        }
        if (found.held?.by !== "concurrency") {
          // Admitted by this release before, which failed after (a repair), or long ago by one
          // that died before its send: sent again. Otherwise its admitter is sending it.
          const own = mode === "repair" && found.admittedBy === by;
          if (own || this.#o.clock.now() - (found.admittedAt ?? found.queuedAt ?? 0) > ADMISSION_REPAIR_MS) {
            // Through its rate limit: the admitter may have died before counting the start.
            yield* this.#start(found);
            yield* gate.forget(key, waiter);
          }
          continue;
        }
        const slot = yield* gate.acquire(found);
        if (!slot.admitted) {
          // Full. A repair looks on through the notes it read: one of them may hold a slot
          // its admitter took before it died (noted later, it can sort behind this one).
          if (mode !== "release") {
            full = true;
            continue;
          }
          return;
        }
        // Held with its slot taken already: another admitter is admitting it, or died before
        // its send. A worker's release leaves it to that admitter (most often a release
        // running at the same time), or to the admitter's repair if it died, and stops: the
        // slot it freed went to this one, or is taken by the next release, which admits
        // while slots are free, or by the coordinator's backstop. The others finish its
        // admission (of those racing, the write in #admitNoted chooses which one sends).
        if (!slot.added) {
          if (mode !== "release") yield* this.#admitNoted(found, key, waiter, by);
          return;
        }
        yield* this.#admitNoted(found, key, waiter, by);
        if (slot.holders >= (found.limits?.concurrency?.limit ?? 1)) return;
      }
    }
  }

  /**
   * Frees the concurrency slots of finished executions and admits what they held back: the
   * coordinator's backstop after every terminal transition of a limited task, which
   * repairs a release a dying worker left undone. Idempotent. One pass per limit and key
   * for a whole batch of the stream: one read of the slots, a write for each slot still
   * held (a release not made), and a round of admissions only when slots are free (a
   * release left them free), so that the backstop does not race the workers' releases
   * once for each execution that finished. A `repair` (the coordinator's second pass over
   * a batch that failed) looks at the notes even with every slot taken, and sends again
   * what an admission of the failed pass left unsent (`admittedBy`): that execution
   * holds a slot, so the slots alone look full and in order.
   */
  releaseSlots(records: readonly Pick<ExecutionRecord, "id" | "taskName" | "limits">[], options: { readonly repair?: boolean } = {}): MaybePromise<void> {
    const gate = this.#gate;
    if (gate === undefined) return undefined;
    const byKey = new Map<string, ExecutionRecord[]>();
    // The slot's release reads only these fields of the record.
    for (const record of records as ExecutionRecord[]) {
      if (record.limits?.concurrency === undefined) continue;
      const key = gate.concurrencyKey(record);
      byKey.set(key, [...(byKey.get(key) ?? []), record]);
    }
    if (byKey.size === 0) return undefined;
    const freed = drive(all([...byKey].map(([key, finished]) => this.#backstop(gate, key, finished, options.repair === true))));
    return isPromiseLike(freed) ? freed.then(ignore) : undefined;
  }

  /** The backstop of one limit and key (see {@link releaseSlots}); `finished` is not empty. */
  *#backstop(gate: LimitGate, key: string, finished: readonly ExecutionRecord[], repair: boolean): Step<void> {
    const slots = yield* gate.slots(key, finished.map((r) => r.id));
    const limit = Math.max(...finished.map((r) => r.limits?.concurrency?.limit ?? 1));
    if (!repair && slots.holding.length === 0 && slots.holders >= limit) return;
    const holding = new Set(slots.holding);
    yield* all(finished.filter((r) => holding.has(r.id)).map((r) => gate.vacate(r)));
    // A batch's admissions name its first execution: a second pass over that one alone
    // (the coordinator's, one record at a time) recognises them as its own.
    yield* this.#admitHeld(key, (finished[0] as ExecutionRecord).id, repair ? "repair" : "backstop");
  }

  /**
   * A wake-up claimed (`sleeping → running`) of an execution under a concurrency limit,
   * which gave its slot up to sleep: it runs if it gets one; otherwise it goes back to
   * `queued` for the same attempt, held, and a freed slot sends its message again.
   */
  *#wake(record: ExecutionRecord): Step<ExecutionRecord | undefined> {
    if ((yield* (this.#gate as LimitGate).acquire(record)).admitted) return record;
    const now = this.#o.clock.now();
    const back = yield* call(
      this.#o.store.update(record.id, { state: State.Running, attempt: record.attempt }, { state: State.Queued, queuedAt: now }, { state: State.Queued, at: now, attempt: record.attempt }),
    );
    // Queued before it is noted as held, so a release that finds the note finds it queued.
    if (back !== undefined) yield* this.#gated(back);
    return undefined;
  }

  *#gatedVoid(record: ExecutionRecord, delayMs?: number): Step<void> {
    yield* this.#gated(record, delayMs);
  }

  #post(record: ExecutionRecord, delayMs?: number): MaybePromise<void> {
    const message: TaskMessage = { executionId: record.id, taskName: record.taskName, attempt: record.attempt };
    // A delayed start's message waits for its time; one that comes early is sent again (#resend).
    const early = delayMs === undefined && record.notBefore !== undefined ? record.notBefore - this.#o.clock.now() : 0;
    return this.#o.queue.send([message], early > 0 ? early : delayMs);
  }

  /**
   * Claims a delivered message: `queued → running` (or `sleeping → running`, a wake-up) for
   * the message's attempt, once that attempt is due (`notBefore`). Returns `undefined` for a
   * delivery that starts nothing, which the caller drops, after repairing what such a
   * delivery can show was left undone.
   */
  claim(message: TaskMessage, takeOverAfterMs?: number): MaybePromise<ExecutionRecord | undefined> {
    const now = this.#o.clock.now();
    const claimed = this.#o.store.update(
      message.executionId,
      { state: awaitingMessage, attempt: message.attempt, dueBy: now },
      { state: State.Running, startedAt: now },
      { state: State.Running, at: now, attempt: message.attempt },
    );
    if (isPromiseLike(claimed)) return claimed.then((record) => (record === undefined ? this.#unclaimed(message, now, takeOverAfterMs) : this.#woken(record)));
    return claimed === undefined ? this.#unclaimed(message, now, takeOverAfterMs) : this.#woken(claimed);
  }

  /** A claimed record, unless it woke from a sleep under a concurrency limit with no slot free (see #wake). */
  #woken(record: ExecutionRecord): MaybePromise<ExecutionRecord | undefined> {
    if (this.#gate === undefined || record.limits?.concurrency === undefined || record.history.at(-2)?.state !== State.Sleeping) return record;
    return drive(this.#wake(record));
  }

  /**
   * A delivery whose claim failed: a take-over if one is due, else a repair. Most such
   * deliveries are duplicates, but a message comes back when the handler that wrote a state
   * failed after the write (a lost send, a failed release), and this is the one chance to
   * finish that work: an execution already finished releases its dependents again and
   * sends again the message of each downstream left `queued`; one queued for a later
   * attempt (a retry whose delayed message was lost), or for this attempt but not yet due,
   * gets its message again with the delay that remains. Resending is safe: a duplicate is
   * dropped at claim.
   */
  #unclaimed(message: TaskMessage, now: number, takeOverAfterMs: number | undefined): MaybePromise<ExecutionRecord | undefined> {
    if (takeOverAfterMs === undefined) return drive(this.#redelivered(message, now, false));
    const taken = this.#takeOver(message, now, takeOverAfterMs);
    if (isPromiseLike(taken)) return taken.then((record) => record ?? drive(this.#redelivered(message, now, true)));
    return taken ?? drive(this.#redelivered(message, now, true));
  }

  /** @param takesOver - whether a later delivery could take over this attempt if it died */
  *#redelivered(message: TaskMessage, now: number, takesOver: boolean): Step<undefined> {
    let record = this.#o.store.get(message.executionId);
    if (isPromiseLike(record)) record = (yield record) as ExecutionRecord | undefined;
    if (record === undefined) return undefined;
    if (isTerminal(record.state)) {
      yield* this.#releaseDependents([record.id], true);
      yield* this.#freeSlot(record, "repair");
    } else if (awaitingMessage.includes(record.state) && record.attempt >= message.attempt) {
      yield* call(this.#resend(record, now));
    } else if (record.state === State.Suspended && record.attempt === message.attempt) {
      yield* this.#rerunSuspended(record, now);
    } else if (record.external !== undefined && record.state === State.Waiting) {
      yield* this.#timeoutExternal(record, message.taskName, now);
    } else if (takesOver && record.state === State.Running && record.attempt === message.attempt) {
      // The attempt this message started is running, and too recently to be taken over. A
      // message comes back one visibility timeout after it was received, a little before
      // the attempt it started is that old; dropped now, it could never take over an
      // attempt that died. Failing the delivery brings it back once more: by then the
      // attempt has finished (the repair above acknowledges it) or can be taken over.
      throw new Error(
        `execution ${record.id} is running attempt ${record.attempt}, started ${now - (record.startedAt ?? now)} ms ago: ` +
          "its message is kept until the attempt finishes or can be taken over",
      );
    }
    return undefined;
  }

  /**
   * Queues again a suspended execution whose attempt's message came back. The worker that
   * suspended it acknowledges its message once the suspension is armed, so a message that
   * comes back may mean it died or failed between the suspension's write and its await
   * edges, and then no upstream would ever release it. Which executions it awaits is not
   * stored (an `asCompleted` over thousands would make every write to the item dear), so it
   * runs again: the re-run finds its children and suspends afresh, in a new generation no
   * earlier release can touch. A duplicate delivery of a well-armed suspension costs the
   * same re-run, and nothing else.
   */
  *#rerunSuspended(record: ExecutionRecord, now: number): Step<void> {
    const queued = yield* call(
      this.#advance(
        record,
        { state: State.Suspended, attempt: record.attempt, generation: record.generation },
        { state: State.Queued, pending: 0, queuedAt: now },
        { state: State.Queued, at: now, attempt: record.attempt },
      ),
    );
    if (queued !== undefined) yield* call(this.#send(queued));
  }

  /** Sends a queued or sleeping execution's message again, delayed until its attempt is due. */
  #resend(record: ExecutionRecord, now: number): MaybePromise<void> {
    const remaining = record.notBefore === undefined ? 0 : record.notBefore - now;
    return this.#send(record, remaining > 0 ? remaining : undefined);
  }

  /**
   * Starts a new attempt of an execution whose running attempt started at least
   * `afterMs` ago: its worker died, or outlived its visibility timeout. The old attempt can
   * no longer commit, since every commit expects the current attempt.
   */
  #takeOver(message: TaskMessage, now: number, afterMs: number): MaybePromise<ExecutionRecord | undefined> {
    const attempt = message.attempt + 1;
    return this.#o.store.update(
      message.executionId,
      { state: State.Running, attempt: message.attempt, startedBefore: now - afterMs },
      { attempt, startedAt: now },
      { state: State.Running, at: now, attempt },
    );
  }

  /** Records how a running attempt ended. Only the current attempt can commit. */
  finish(record: ExecutionRecord, outcome: Outcome): MaybePromise<void> {
    switch (outcome.type) {
      case "completed": {
        // No promise unless a port answers with one: this is every task's last write.
        const { forward } = outcome;
        const running = { state: State.Running, attempt: record.attempt };
        const result = this.#payload(record.id, "result", outcome.result);
        const done = isPromiseLike(result)
          ? result.then((payload) => this.#terminate(record, running, this.#completion(payload, forward)))
          : this.#terminate(record, running, this.#completion(result, forward));
        if (record.cache === undefined || forward !== undefined) return isPromiseLike(done) ? done.then(ignore) : undefined;
        // Kept once the completion is written: a crash in between loses the entry, not the result.
        const kept = (committed: boolean) => (committed ? this.#keepCached(record, result) : undefined);
        return isPromiseLike(done) ? done.then(kept) : kept(done);
      }
      case "failed":
        return drive(this.#fail(record, outcome.error));
      case "suspended":
        return drive(this.#suspend(record, outcome.on, outcome.mode));
      case "sleeping":
        return drive(this.#sleep(record, outcome.until, outcome.wakes));
      default:
        throw new Error(`unknown outcome ${JSON.stringify(outcome satisfies never)}`);
    }
  }

  /** Writes the cache entry of a cached task's completion (see {@link ExecutionRecord.cache}). */
  #keepCached(record: ExecutionRecord, result: MaybePromise<Payload>): MaybePromise<void> {
    const cache = record.cache;
    if (cache === undefined) return undefined;
    const keep = (payload: Payload): MaybePromise<void> => {
      const now = this.#o.clock.now();
      const put = this.#o.store.putReuseRecord(
        { key: cache.key, executionId: record.id, createdAt: now, expiresAt: now + cache.ttlMs, result: payload },
        { always: true },
      );
      return isPromiseLike(put) ? put.then(ignore) : undefined;
    };
    return isPromiseLike(result) ? result.then(keep) : keep(result);
  }

  *#fail(record: ExecutionRecord, error: unknown): Step<void> {
    const text = this.#o.policy.encodeError(error);
    const encoded = yield* call(this.#payload(record.id, `error/${record.attempt}`, text));
    // A re-run's attempts count from its first: a task's retries are its own again.
    const delayMs = this.#o.policy.retryDelayMs(record.taskName, error, attemptInRerun(record));
    const running = { state: State.Running, attempt: record.attempt };
    const now = this.#o.clock.now();
    // The attempt's failure is kept in the write that ends it: no write of its own.
    const failed = this.#failed(record, text, now);
    if (delayMs === undefined) {
      yield* call(this.#terminate(record, running, { state: State.Failed, finishedAt: now, error: encoded, ...failed }));
      return;
    }
    const attempt = record.attempt + 1;
    const retried = yield* call(
      this.#advance(
        record,
        running,
        { state: State.Queued, attempt, error: encoded, notBefore: now + delayMs, queuedAt: now, ...failed },
        { state: State.Queued, at: now, attempt },
      ),
    );
    if (retried !== undefined) yield* call(this.#send(retried, delayMs));
  }

  /**
   * The record's failed attempts with its current one added, ended at `now` by the error
   * encoded as `text` (see `failures.ts`). Never throws: a failure being recorded must not
   * be lost to an error that cannot be read.
   */
  #failed(record: ExecutionRecord, text: string, now: number): ReturnType<typeof withFailure> {
    let fields: ErrorFields;
    try {
      fields = this.#o.policy.errorFields?.(text) ?? { name: "Error", message: text };
    } catch {
      fields = { name: "Error", message: "floe could not read this attempt's error" };
    }
    const startedAt = record.startedAt === undefined ? {} : { startedAt: record.startedAt };
    return withFailure(record, { attempt: record.attempt, ...startedAt, finishedAt: now, error: boundedError(fields) });
  }

  /**
   * Writes a live execution's terminal change and releases its dependents. Written without
   * a step, as every task's last write: continuations run at once for ports that answer at
   * once.
   * @param pinned - whether `expect` pins the state `record` was read in (see {@link ExecutionEngine.#advance})
   */
  #terminate(record: ExecutionRecord, expect: Expectation, changes: TerminalChange, pinned = true): MaybePromise<boolean> {
    const { state, finishedAt } = changes;
    const transition = { state, at: finishedAt, attempt: record.attempt };
    const done = pinned ? this.#advance(record, expect, changes, transition) : this.#o.store.update(record.id, expect, changes, transition);
    return isPromiseLike(done) ? done.then((d) => this.#terminated(d)) : this.#terminated(done);
  }

  /**
   * A conditional update that appends `transition` to `record`'s history or, once the
   * history is full, writes it compacted in one (see `history.ts`). Only for a write whose
   * expectation pins the state and attempt or generation `record` was read in: no
   * transition can then have been appended since, so the history written replaces the one
   * stored and loses nothing. Other writes append, unbounded only by the few of them.
   */
  #advance(record: ExecutionRecord, expect: Expectation, changes: Partial<ExecutionRecord>, transition: Transition): MaybePromise<ExecutionRecord | undefined> {
    if (!isFull(record.history)) return this.#o.store.update(record.id, expect, changes, transition);
    return this.#o.store.update(record.id, expect, { ...changes, history: compact(record.history, transition) });
  }

  /** A terminal change completing with `result`, made whole at once (see {@link TerminalChange}). */
  #completion(result: Payload, forward: string | undefined): TerminalChange {
    return { state: State.Completed, finishedAt: this.#o.clock.now(), result, forward };
  }

  /** A terminal change ending with `error`, made whole at once (see {@link TerminalChange}). */
  #ending(state: ExecutionState, error: Payload): TerminalChange {
    return { state, finishedAt: this.#o.clock.now(), error };
  }

  #terminated(done: ExecutionRecord | undefined): MaybePromise<boolean> {
    if (done === undefined) return false;
    this.#o.onTerminal?.(done);
    const edges = this.#o.store.edgesFrom(done.id);
    let released = isPromiseLike(edges) ? edges.then((e) => this.#releaseFrom(e)) : this.#releaseFrom(edges);
    if (done.limits?.concurrency !== undefined) {
      const free = (): MaybePromise<void> => drive(this.#freeSlot(done));
      released = isPromiseLike(released) ? released.then(free) : free();
    }
    return isPromiseLike(released) ? released.then(() => true) : true;
  }

  /** Releases the edges out of an execution that has just finished. */
  #releaseFrom(all: readonly Edge[]): MaybePromise<void> {
    const inline = this.#inlineFanIn;
    const edges = inline === Infinity ? all : all.filter((edge) => (edge.fanIn ?? 1) <= inline);
    const only = edges.length === 1 ? edges[0] : undefined;
    if (only?.waits === true && !only.released) {
      // One open edge, the usual case: released here, without a step of its own.
      const release = this.#o.store.release(edges, this.#queueing(edges));
      return isPromiseLike(release) ? release.then((r) => this.#queueReleased(r)) : this.#queueReleased(release);
    }
    return edges.length > 0 ? drive(this.#release(edges)) : undefined;
  }

  /** Asks a store to queue the downstream with the release, when the group is its whole wait. */
  #queueing(edges: readonly Edge[], probe = false): ReleaseOptions | undefined {
    if ((edges[0]?.fanIn ?? 1) !== edges.length) return probe ? probing : undefined;
    return probe ? this.#probingQueueNow : this.#queueNow;
  }

  // Made once: every completion with one edge passes one, and the time is read only by a
  // store that queues with the release (the memory store never does).
  readonly #queueNow: ReleaseOptions = this.#queueOptions(false);
  readonly #probingQueueNow: ReleaseOptions = this.#queueOptions(true);

  #queueOptions(probe: boolean): ReleaseOptions {
    const clock = (): Clock => this.#o.clock;
    return {
      probe,
      get queueAt() {
        return clock().now();
      },
    };
  }

  #queueReleased(release: Release | undefined): MaybePromise<void> {
    if (release?.queued === true) return this.#send(release.downstream);
    // A downstream found ready by a release that counted nothing was left unqueued by the
    // releaser that brought it to zero (it died before the queue write): queued now. The
    // queue write is conditional, so of two that find it ready one queues it.
    return release !== undefined && isReady(release.downstream) ? drive(this.#queueIfReady(release.downstream)) : undefined;
  }

  /**
   * Ends a sleeping attempt: the execution is `sleeping` until its wake time (`notBefore`),
   * for the same attempt, with a message delayed to it (sent again with the delay left by a
   * queue that cannot wait that long). The message's claim wakes it, as it starts a queued
   * one. It holds no slot and runs no code meanwhile.
   */
  *#sleep(record: ExecutionRecord, until: number, wakes: readonly number[]): Step<void> {
    const now = this.#o.clock.now();
    const asleep = yield* call(
      this.#advance(
        record,
        { state: State.Running, attempt: record.attempt },
        // A new generation, as a suspension makes: the re-run reads the children made before.
        { state: State.Sleeping, generation: record.generation + 1, notBefore: until, queuedAt: now, wakes: [...wakes] },
        { state: State.Sleeping, at: now, attempt: record.attempt },
      ),
    );
    if (asleep === undefined) return;
    yield* this.#freeSlot(asleep);
    yield* call(this.#send(asleep));
  }

  /** Parks a running execution until `on` (all, or any one of them) have finished. */
  *#suspend(record: ExecutionRecord, on: readonly string[], mode: WaitMode): Step<void> {
    const now = this.#o.clock.now();
    const suspended = yield* call(
      this.#advance(
        record,
        { state: State.Running, attempt: record.attempt },
        {
          state: State.Suspended,
          generation: record.generation + 1,
          pending: mode === WaitMode.All ? on.length : 1,
          // No guard, unlike a registration: the counter counts each awaited execution once
          // however its release comes (a store counts edges, not calls), so it reaches zero
          // only once every one has finished, whoever gets there first; a guard would cost
          // a write a suspension.
          guarded: false,
          waitMode: mode,
        },
        { state: State.Suspended, at: now, attempt: record.attempt },
      ),
    );
    if (suspended === undefined) return;
    // Its slot is given up before any edge exists: nothing can queue it again before that.
    yield* this.#freeSlot(suspended);
    const fanIn = mode === WaitMode.All ? on.length : 1;
    yield* call(this.#o.store.addEdges(on.map((id, slot) => this.#edge(suspended, id, EdgeKind.Await, fanIn, slot))));
    // Looked for after the edges are written, so the last of a cycle to suspend sees it.
    let cycle: ExecutionRecord[] | undefined;
    try {
      cycle = yield* findWaitCycle(this.#o.store, suspended, on, mode);
    } catch {
      // A read that only looks for a cycle must not keep the suspension from being armed.
      cycle = undefined;
    }
    if (cycle !== undefined) return yield* this.#failCycle(suspended, cycle);
    yield* this.#arm(suspended, on, EdgeKind.Await, slotsIn(on));
  }

  /**
   * Fails a suspended execution found waiting in `cycle`, without retrying: it holds no
   * timer, so nothing else would end it. Its failure releases the others of the cycle.
   */
  *#failCycle(record: ExecutionRecord, cycle: readonly ExecutionRecord[]): Step<void> {
    const error = this.#o.policy.encodeError(waitCycle(cycle));
    const encoded = yield* call(this.#payload(record.id, `error/${record.attempt}`, error));
    const expect = { state: State.Suspended, generation: record.generation };
    const now = this.#o.clock.now();
    yield* call(this.#terminate(record, expect, { state: State.Failed, finishedAt: now, error: encoded, ...this.#failed(record, error, now) }));
  }

  /**
   * Releases every unreleased edge out of finished executions and queues each downstream
   * that this brings to zero. The edges into one downstream are released together, up to
   * {@link RELEASE_GROUP} in one write. Idempotent: the fast path after a completion and
   * the coordinator's backstop may both run it.
   */
  releaseDependents(
    upstreamIds: string | readonly string[],
    options: { readonly resend?: boolean; readonly edges?: ReadonlyMap<string, readonly Edge[]> } = {},
  ): MaybePromise<void> {
    return drive(this.#releaseDependents(typeof upstreamIds === "string" ? [upstreamIds] : upstreamIds, options.resend === true, options.edges));
  }

  /** @param known - the edges out of some of the upstreams, as the caller has them (a stream record's image) */
  *#releaseDependents(upstreamIds: readonly string[], resend: boolean, known?: ReadonlyMap<string, readonly Edge[]>): Step<void> {
    const found = yield* all(upstreamIds.map((id) => call(known?.get(id) ?? this.#o.store.edgesFrom(id))));
    yield* this.#release(found.length === 1 ? (found[0] ?? []) : found.flat(), resend, true);
  }

  /**
   * Releases the open edges among `edges` and queues what that brings to zero. With
   * `resend`, a downstream of an edge released before that is found `queued` also gets its
   * message again: the send after its `queued` write may have failed (a repair, so never on
   * the usual path, where it would only double each message).
   */
  *#release(edges: readonly Edge[], resend = false, backstop = false): Step<void> {
    // One pass: this runs after every completion with several edges.
    let open: Edge[] | undefined;
    let settledIds: Set<string> | undefined;
    for (const edge of edges) {
      if (!edge.waits) continue;
      if (edge.released) (settledIds ??= new Set()).add(edge.downstreamId);
      else if (open === undefined) open = [edge];
      else open.push(edge);
    }
    if (open?.length === 1) yield* this.#releaseGroup(open, backstop, resend);
    else if (open !== undefined) yield* all(groupByDownstream(open).map((group) => this.#releaseGroup(group, backstop, resend)));
    // An edge released before may have left its downstream at zero but not queued (the
    // releaser died between the two writes, or lost the response): queue such ones now.
    if (settledIds === undefined) return;
    const settled = [...settledIds];
    let downstreams = this.#o.store.getMany(settled);
    if (isPromiseLike(downstreams)) downstreams = (yield downstreams) as (ExecutionRecord | undefined)[];
    const ready = downstreams.filter((d): d is ExecutionRecord => d !== undefined && d.pending === 0 && !d.guarded);
    if (ready.length > 0) yield* all(ready.map((downstream) => this.#queueIfReady(downstream)));
    if (!resend) return;
    const now = this.#o.clock.now();
    const queued = ready.filter((d) => d.state === State.Queued);
    if (queued.length > 0) yield* all(queued.map((downstream) => call(this.#resend(downstream, now))));
  }

  /**
   * @param backstop - a release after the usual one (the coordinator's, a repair's)
   * @param resend - a repair: a downstream found queued by an earlier release gets its message again
   */
  *#releaseGroup(edges: readonly Edge[], backstop = false, resend = false): Step<void> {
    // The coordinator's release of a narrow fan-in follows the worker's, which was probably made.
    const probe = backstop && this.#inlineFanIn !== Infinity && (edges[0]?.fanIn ?? 1) <= this.#inlineFanIn;
    let release = this.#o.store.release(edges, this.#queueing(edges, probe));
    if (isPromiseLike(release)) release = (yield release) as Release | undefined;
    if (release === undefined) return;
    const { downstream } = release;
    if (release.queued === true) yield* call(this.#send(downstream));
    else if (isReady(downstream)) yield* this.#queueIfReady(downstream);
    // A store that does not mark edges (DynamoDB's) answers a release made before with the
    // downstream as it is: one queued then may have lost its message.
    else if (resend && !release.decremented && downstream.state === State.Queued) {
      yield* call(this.#resend(downstream, this.#o.clock.now()));
    }
  }

  /**
   * Cancels executions and, recursively, every unfinished execution under them. A running
   * attempt can no longer commit; its dependents are released (by the coordinator, when
   * there is one: see `inlineFanIn`) and see the cancellation. Linear in the size of the
   * runs: the targets are read and cancelled first, then each run's executions are read
   * once, and the live ones under the targets are cancelled, {@link CANCEL_WRITES_AT_ONCE}
   * at a time. Returns the ids that were cancelled, targets first.
   */
  async cancel(ids: string | readonly string[], reason: unknown): Promise<string[]> {
    const cancelled: string[] = [];
    await drive(this.#cancel(typeof ids === "string" ? [ids] : ids, reason, cancelled));
    return cancelled;
  }

  *#cancel(ids: readonly string[], reason: unknown, cancelled: string[]): Step<void> {
    const targets = (yield* call(this.#o.store.getMany(ids))).filter((r): r is ExecutionRecord => r !== undefined);
    const first = targets[0];
    if (first === undefined) return;
    // Encoded once, whatever the number of executions: a large reason is one blob.
    const error = yield* call(this.#payload(first.id, "error/cancel", this.#o.policy.encodeError(reason)));
    const seen = new Set(targets.map((t) => t.id));
    // The targets are written before their runs are read: a child created after that read
    // is refused by its parent's check at registration (`NewExecution.admit`), which then
    // finds the parent cancelled.
    yield* this.#cancelEach(targets, error, cancelled);
    const runIds = [...new Set(targets.map((t) => t.runId))];
    for (;;) {
      const executions = yield* all(runIds.map((runId) => call(this.#o.store.executions(runId))));
      const found = under(seen, executions.flat()).filter((e) => !isTerminal(e.state));
      // An execution found running may have created children between the read and its
      // cancellation: read again until a sweep meets none that was running.
      if (!(yield* this.#cancelEach(found, error, cancelled))) return;
    }
  }

  /** Cancels each live execution of `records`; returns whether one of them was running. */
  *#cancelEach(records: readonly ExecutionRecord[], error: Payload, cancelled: string[]): Step<boolean> {
    const done = yield* pooled(records, CANCEL_WRITES_AT_ONCE, (record) => this.#cancelOne(record, error));
    let running = false;
    for (const record of done) {
      if (record === undefined) continue;
      cancelled.push(record.id);
      if (record.history.at(-2)?.state === State.Running) running = true;
    }
    return running;
  }

  /** Moves one live execution to `cancelled`; returns the record, or `undefined` if it had finished. */
  *#cancelOne(record: ExecutionRecord, error: Payload): Step<ExecutionRecord | undefined> {
    const change = this.#ending(State.Cancelled, error);
    const transition = { state: State.Cancelled, at: change.finishedAt, attempt: record.attempt };
    const done = yield* call(this.#o.store.update(record.id, { state: live }, change, transition));
    if (done === undefined) return undefined;
    // A query per execution to release its dependents: left to the coordinator, which
    // releases after every terminal transition, when there is one.
    if (this.#inlineFanIn === Infinity) yield* call(this.#terminated(done));
    else {
      this.#o.onTerminal?.(done);
      // No query: a slot's release is a write and a read of its limit's items.
      yield* this.#freeSlot(done);
    }
    return done;
  }

  /**
   * Fails an execution that can never run (its message reached the dead-letter queue) and
   * releases its dependents, who see `error`. A finished one's dependents are released
   * again, and those found queued get their message again (a repair).
   */
  abandon(id: string, error: unknown): MaybePromise<void> {
    return drive(this.#abandon(id, error));
  }

  *#abandon(id: string, error: unknown): Step<void> {
    const record = yield* call(this.#o.store.get(id));
    if (record === undefined) return;
    // Its message kept failing after it finished: what failed was the release or a send
    // after it, and this is the last delivery that can repair it (below a root, no index
    // lists executions whose message was lost).
    if (isTerminal(record.state)) {
      yield* this.#releaseDependents([record.id], true);
      return yield* this.#freeSlot(record, "repair");
    }
    const encoded = yield* call(this.#payload(record.id, "error/abandon", this.#o.policy.encodeError(error)));
    // Expects any live state, so the record read may be stale: appended, not compacted.
    yield* call(this.#terminate(record, { state: live }, this.#ending(State.Failed, encoded), false));
  }

  /**
   * The backstop for a lost message that no redelivery repairs: sends again the message of
   * every execution still `queued` whose attempt became due, or still `sleeping` whose wake
   * time came, more than `olderThanMs` ago (and, given `lookbackMs`, less than that long
   * ago). The process that queued it died between the write and the send, or its send
   * failed and the message that would have repaired it never came back (it reached the
   * dead-letter queue). A message that was only slow is delivered twice, and the second
   * delivery is dropped at claim. Returns the ids sent.
   */
  async resendLost(options: { readonly olderThanMs: number; readonly lookbackMs?: number; readonly limit?: number }): Promise<string[]> {
    const now = this.#o.clock.now();
    const lost = await this.#o.store.queued({
      dueBefore: now - options.olderThanMs,
      ...(options.lookbackMs === undefined ? {} : { dueAfter: now - options.lookbackMs }),
      limit: options.limit ?? 1_000,
    });
    // One a concurrency limit holds was sent nothing on purpose: it is noted where a freed
    // slot looks. Any other was admitted by its limits when its message was first sent, so
    // the message goes again as it is (the reconciler writes nothing).
    const unheld = lost.filter((record) => record.held?.by !== "concurrency");
    if (unheld.length > 0) {
      await this.#o.queue.send(unheld.map((record) => ({ executionId: record.id, taskName: record.taskName, attempt: record.attempt })));
    }
    return unheld.map((record) => record.id);
  }

  /**
   * Creates an external execution (`external()`): `waiting` at zero with no guard, never
   * queued (no edge leads into it, and {@link isReady} refuses it), with a timeout message
   * delayed to `timeoutAt` on its parent's queue. A record found under its id (a re-run of
   * the parent) is answered with `created` false; still waiting, its timeout message is sent
   * again, since the run that created it may have died before its send.
   */
  createExternal(spec: NewExternal): MaybePromise<{ readonly record: ExecutionRecord; readonly created: boolean }> {
    return drive(this.#createExternal(spec));
  }

  *#createExternal(spec: NewExternal): Step<{ readonly record: ExecutionRecord; readonly created: boolean }> {
    const now = this.#o.clock.now();
    const record: ExecutionRecord = {
      ...this.#newRecord({ id: spec.id, runId: spec.runId, parentId: spec.parentId, taskName: spec.taskName, args: spec.args, refs: [], waitOn: [] }, { inline: spec.args }),
      state: State.Waiting,
      queuedAt: undefined,
      notBefore: spec.timeoutAt,
      history: [{ state: State.Waiting, at: now, attempt: 1 }],
      external: { timeoutAt: spec.timeoutAt },
    };
    if (yield* call(this.#o.store.create(record))) {
      yield* call(this.#sendTimeout(record, spec.routeTo, now));
      return { record, created: true };
    }
    const found = yield* call(this.#o.store.get(spec.id));
    if (found === undefined) throw new Error(`execution ${spec.id} vanished while it was being created`);
    if (found.external !== undefined && found.state === State.Waiting) yield* call(this.#sendTimeout(found, spec.routeTo, now));
    return { record: found, created: false };
  }

  /**
   * Completes an external execution from outside with a result (encoded) or an error: one
   * conditional write `waiting → completed | failed`, then the release of its dependents a
   * task's completion makes. One past its timeout is failed with `FLOE_TIMEOUT` instead and
   * answered `finished`, as is one found finished; a second completion changes nothing.
   */
  completeExternal(id: string, outcome: { readonly result: string } | { readonly error: unknown }): MaybePromise<ExternalCompletion> {
    return drive(this.#completeExternal(id, outcome));
  }

  *#completeExternal(id: string, outcome: { readonly result: string } | { readonly error: unknown }): Step<ExternalCompletion> {
    const record = yield* call(this.#o.store.get(id));
    if (record === undefined) return { status: "unknown" };
    if (record.external === undefined) return { status: "not-external", record };
    const now = this.#o.clock.now();
    if (record.state === State.Waiting && now >= record.external.timeoutAt) yield* this.#timeoutExternal(record, undefined, now);
    if (record.state !== State.Waiting || now >= record.external.timeoutAt) return { status: "finished", record: yield* this.#reread(record) };
    const change =
      "result" in outcome
        ? this.#completion(yield* call(this.#payload(id, "result", outcome.result)), undefined)
        : this.#ending(State.Failed, yield* call(this.#payload(id, "error/1", this.#o.policy.encodeError(outcome.error))));
    const done = yield* call(this.#terminate(record, { state: State.Waiting }, change));
    // As written (its history aside): no read to answer with it.
    return done ? { status: "completed", record: { ...record, ...change } } : { status: "finished", record: yield* this.#reread(record) };
  }

  *#reread(record: ExecutionRecord): Step<ExecutionRecord> {
    return (yield* call(this.#o.store.get(record.id))) ?? record;
  }

  /**
   * A timeout message of a waiting external: due, it fails the external with `FLOE_TIMEOUT`
   * (a completion's write and release); early (a queue delays 15 minutes at most), it is
   * sent again with the delay left. Without `routeTo`, nothing is sent.
   */
  *#timeoutExternal(record: ExecutionRecord, routeTo: string | undefined, now: number): Step<void> {
    const timeoutAt = record.external?.timeoutAt ?? now;
    if (now < timeoutAt) {
      if (routeTo !== undefined) yield* call(this.#sendTimeout(record, routeTo, now));
      return;
    }
    const error = new FloeError(
      ErrorCode.Timeout,
      `the external execution "${record.taskName}" (${record.id}) was not completed before its timeout at ${new Date(timeoutAt).toISOString()}`,
    );
    const encoded = yield* call(this.#payload(record.id, "error/1", this.#o.policy.encodeError(error)));
    yield* call(this.#terminate(record, { state: State.Waiting }, this.#ending(State.Failed, encoded)));
  }

  #sendTimeout(record: ExecutionRecord, routeTo: string, now: number): MaybePromise<void> {
    const delay = (record.external?.timeoutAt ?? now) - now;
    return this.#o.queue.send([{ executionId: record.id, taskName: routeTo, attempt: record.attempt }], delay > 0 ? delay : undefined);
  }

  /** One run: its root and every execution and edge under it. */
  async run(runId: string): Promise<RunView | undefined> {
    const found = await this.#o.store.run(runId);
    const root = found?.executions.find((e) => e.id === runId);
    if (found === undefined || root === undefined) return undefined;
    return { id: runId, root, executions: found.executions, edges: found.edges };
  }

  /** Reads a payload's text, from the record or the blob store. */
  read(payload: Payload): MaybePromise<string> {
    return "inline" in payload ? payload.inline : this.#o.blobs.get(payload.blob);
  }

  /**
   * Keeps `text` in the record, or in the blob store when it is too large for a record,
   * under `<id>/<name>`.
   */
  #payload(id: string, name: string, text: string): MaybePromise<Payload> {
    if (text.length <= this.#o.blobThreshold) return { inline: text };
    const key = `${id}/${name}`;
    const pointer: Payload = { blob: key, bytes: text.length };
    const put = this.#o.blobs.put(key, text);
    return isPromiseLike(put) ? Promise.resolve(put).then(() => pointer) : pointer;
  }
}

const ignore = (): undefined => undefined;
const probing = { probe: true } as const;

/** The slot of each id: its position in `ids`. */
function slotsIn(ids: readonly string[]): (id: string) => number {
  if (ids.length <= 8) return (id) => ids.indexOf(id);
  const slots = new Map(ids.map((id, slot) => [id, slot]));
  return (id) => slots.get(id) ?? -1;
}

/**
 * The change that ends an execution. Made in one literal with every property it will have:
 * properties added to an object after it is made live outside it, in an allocation of their
 * own, and this is written once per task.
 */
type TerminalChange = { readonly state: ExecutionState; readonly finishedAt: number } &
  (
    | { readonly result: Payload; readonly forward: string | undefined }
    | { readonly error: Payload; readonly failures?: FailedAttempt[]; readonly earlierFailures?: number }
  );

/** Whether a record, as read, is blocked with its counter at zero and its guard gone. */
function isReady(record: ExecutionRecord): boolean {
  // An external waits at zero with no guard from its creation: only a completion ends that.
  return record.pending === 0 && !record.guarded && blocked.includes(record.state) && record.external === undefined;
}

/**
 * The edges into each downstream and generation, in groups of at most
 * {@link RELEASE_GROUP}. A downstream released by any one upstream (fan-in 1) takes its
 * edges one at a time: the first decrements its counter, the rest are only marked.
 */
function groupByDownstream(edges: readonly Edge[]): Edge[][] {
  const groups = new Map<string, Edge[]>();
  for (const edge of edges) {
    const key = `${edge.downstreamId}|${edge.generation}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [edge]);
    else group.push(edge);
  }
  return [...groups.values()].flatMap((group) => chunks(group, Math.min(RELEASE_GROUP, Math.max(1, group[0]?.fanIn ?? 1))));
}

/**
 * The executions under the ids of `roots` among `executions`, parents before children,
 * leaving out those in `roots` (the ones found before); each one found is added to it.
 */
function under(roots: Set<string>, executions: readonly ExecutionRecord[]): ExecutionRecord[] {
  const children = new Map<string, ExecutionRecord[]>();
  for (const execution of executions) {
    if (execution.parentId === undefined) continue;
    const siblings = children.get(execution.parentId);
    if (siblings === undefined) children.set(execution.parentId, [execution]);
    else siblings.push(execution);
  }
  const found: ExecutionRecord[] = [];
  const queue = [...roots];
  for (let i = 0; i < queue.length; i += 1) {
    for (const child of children.get(queue[i] as string) ?? []) {
      // Those in `roots` are in the queue already.
      if (roots.has(child.id)) continue;
      roots.add(child.id);
      queue.push(child.id);
      found.push(child);
    }
  }
  return found;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  if (items.length <= size) return [items.slice()];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
