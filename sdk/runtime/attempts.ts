/**
 * Running attempts: claim a delivered message, run the task's code in its context, and
 * record the outcome. Written with callbacks rather than async functions because it runs
 * once per task: over the in-memory adapters the only promises left are the user code's
 * own.
 */
import { decode, encode, type ReferenceCodec } from "../codec/codec.ts";
import { Runner } from "../define/options.ts";
import { lookup, type TaskDefinition } from "../define/registry.ts";
import type { ExecutionEngine, Outcome } from "../engine/execution-engine.ts";
import { State, type ExecutionRecord, type TaskMessage } from "../engine/model.ts";
import type { Clock } from "../engine/ports.ts";
import { isPromiseLike, type MaybePromise } from "../engine/step.ts";
import { CancelledError, ErrorCode, FloeError, TimeoutError } from "../errors.ts";
import { CancelWatch } from "./cancel-watch.ts";
import { ExecutionContext, currentContext, runInContext, type SlotLease } from "./context.ts";
import { isExecution } from "./execution.ts";
import { validateInput } from "../define/input.ts";
import { AttemptEnding, type AttemptWatch, type AttemptWatcher } from "./attempt-watch.ts";

/** Concurrency slots: a running attempt holds one, and gives it up while it waits. */
export interface Slots {
  release(): void;
  /** Takes a slot now if one is free. */
  tryAcquire(): boolean;
  /** Resolves once a slot is taken; waiters that resume go before new work. */
  acquire(): Promise<void>;
}

/** What attempts need from the runtime that owns them. */
export interface AttemptsOptions {
  /** The runtime, recorded in each context. */
  readonly runtime: unknown;
  readonly engine: ExecutionEngine;
  readonly clock: Clock;
  readonly refs: ReferenceCodec;
  readonly slots: Slots | undefined;
  /** Take over a running attempt that started this long ago (see `RuntimeOptions`). */
  readonly takeOverAfterMs: number | undefined;
  /** The largest encoded result accepted, in characters. */
  readonly maxPayloadBytes: number;
  /** How often a running attempt reads its record for a cancellation (see `RuntimeOptions`). */
  readonly cancelPollMs: number | undefined;
  /** Told of each attempt's start and end (metrics, traces); none by default. */
  readonly watchers: readonly AttemptWatcher[];
  /** Whether a failure of this attempt with `error` is retried (the task's retry policy). */
  readonly willRetry: (record: ExecutionRecord, error: unknown) => boolean;
  /** Runs the code of `runner: "worker"` tasks elsewhere (see `RuntimeOptions.runOnWorker`). */
  readonly runOnWorker?: RunOnWorker | undefined;
}

/**
 * Runs a task's code off this thread: given the attempt and its encoded arguments,
 * resolves to the encoded result or rejects with the code's error.
 */
export type RunOnWorker = (definition: TaskDefinition, args: string, context: ExecutionContext) => Promise<string>;

/** How an inline attempt ended (see {@link Attempts.runInline}). */
export interface InlineEnd {
  readonly outcome: Outcome;
  /** Whether the outcome was a completion and was recorded. */
  readonly recorded: boolean;
}

/** Runs attempts and keeps track of those in progress. */
export class Attempts {
  readonly #o: AttemptsOptions;
  /** The contexts of the attempts running in this process, by execution id. */
  readonly running = new Map<string, ExecutionContext>();

  /** @param options - see {@link AttemptsOptions} */
  constructor(options: AttemptsOptions) {
    this.#o = options;
  }

  /** Handles one delivered message; resolves once its outcome is recorded. */
  process(message: TaskMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.dispatch(message, (error) => {
        if (error === undefined) resolve();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on whatever the store threw
        else reject(error);
      });
    });
  }

  /**
   * Handles one delivered message and calls `done` once its outcome is recorded (with an
   * error if the store failed). A duplicate or stale delivery does nothing. The caller took
   * a slot for the message when slots are in use; it is given back before `done`.
   */
  dispatch(message: TaskMessage, done: (error?: unknown) => void): void {
    let claimed: MaybePromise<ExecutionRecord | undefined>;
    try {
      claimed = this.#o.engine.claim(message, this.#o.takeOverAfterMs);
    } catch (error) {
      this.#unclaimed(done, error);
      return;
    }
    if (isPromiseLike(claimed)) {
      claimed.then(
        (record) => this.#claimed(record, done),
        (error: unknown) => this.#unclaimed(done, error),
      );
    } else {
      this.#claimed(claimed, done);
    }
  }

  /** Gives back the slot of a message that started no attempt. */
  #unclaimed(done: (error?: unknown) => void, error?: unknown): void {
    this.#o.slots?.release();
    done(error);
  }

  #claimed(claimed: ExecutionRecord | undefined, done: (error?: unknown) => void): void {
    if (claimed === undefined) return this.#unclaimed(done);
    // This attempt's own view: a store may hand out its live record, which a later
    // take-over would change under this attempt's feet (and let a stale attempt commit).
    // Without take-overs nothing but this attempt changes it while it runs.
    const record = this.#o.takeOverAfterMs === undefined ? claimed : { ...claimed };
    const attempt = new Attempt(this.#o, this.running, record, done);
    let definition: TaskDefinition;
    try {
      definition = lookup(record.taskName);
    } catch (error) {
      attempt.settle({ type: "failed", error });
      return;
    }
    this.#run(attempt, definition);
  }

  /**
   * Runs an `inline` execution's attempt inside `parent`, its caller's attempt, in the
   * caller's concurrency slot; resolves once its outcome is recorded (rejects if the store
   * failed), with whether a completion was recorded. The caller's timeout, or the engine
   * closing, aborts it too.
   */
  runInline(parent: ExecutionContext, definition: TaskDefinition, record: ExecutionRecord, written = true): Promise<InlineEnd> {
    return new Promise((resolve, reject) => {
      const attempt: Attempt = new Attempt(this.#o, this.running, { ...record }, (error) => {
        attempt.stopWriteTimer?.();
        parent.signal.removeEventListener("abort", abort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on whatever the store threw
        if (error !== undefined) reject(error);
        else resolve({ outcome: attempt.outcome as Outcome, recorded: attempt.recorded });
      }, parent);
      // A cancellation reaches it as its caller's other children: cancelled by the sweep or
      // the caller's cancel watch, which then aborts it; ended here first, it would fail.
      const abort = () => {
        const reason: unknown = parent.signal.reason;
        if (!(reason instanceof CancelledError)) attempt.abort(reason);
        // Not written yet, the sweep cannot find it: written, then cancelled here, which aborts it.
        else if (attempt.unwritten) void attempt.written().then(() => this.#o.engine.cancel(attempt.record.id, reason), ignoreError);
      };
      parent.signal.addEventListener("abort", abort);
      if (!written) {
        attempt.unwritten = true;
        // One that outlives this is written running, so the run shows it while it runs.
        attempt.stopWriteTimer = this.#o.clock.schedule(INLINE_WRITE_AFTER_MS, () => void attempt.written().catch(ignoreError));
      }
      this.#run(attempt, definition);
      // Aborted while its record was being written: the attempt ends at once, recorded.
      if (parent.aborted) abort();
    });
  }

  /** Starts a claimed attempt: its cancel watch, its timeout, then its code. */
  #run(attempt: Attempt, definition: TaskDefinition): void {
    const { record } = attempt;
    this.running.set(record.id, attempt);
    if (this.#o.watchers.length > 0) attempt.startWatches(this.#o.watchers, record.startedAt ?? this.#o.clock.now());
    const { cancelPollMs } = this.#o;
    if (cancelPollMs !== undefined) attempt.watch = new CancelWatch(attempt, this.#o.engine, this.#o.clock, cancelPollMs);
    const { timeoutMs } = definition.options;
    if (timeoutMs !== undefined) {
      attempt.cancelTimer = this.#o.clock.schedule(timeoutMs, () =>
        attempt.abort(new TimeoutError(`"${definition.name}" ran past its timeoutMs of ${timeoutMs} ms`)),
      );
    }
    const args = "inline" in record.args ? record.args.inline : this.#o.engine.read(record.args);
    if (record.generation > 1) {
      // A re-run after a suspension: its children, and the results of those that finished, in one read.
      Promise.all([this.#o.engine.store.children(record.id, record.runId), args]).then(
        ([children, text]) => {
          attempt.known = new Map(children.map((child) => [child.id, child]));
          attempt.knownFlushed = resumedFromSuspension(record);
          this.#start(attempt, definition, text);
        },
        (error: unknown) => attempt.settle({ type: "failed", error }),
      );
      return;
    }
    if (isPromiseLike(args)) {
      args.then(
        (text) => this.#start(attempt, definition, text),
        (error: unknown) => attempt.settle({ type: "failed", error }),
      );
    } else {
      this.#start(attempt, definition, args);
    }
  }

  #start(context: ExecutionContext, definition: TaskDefinition, text: string): void {
    const { runOnWorker } = this.#o;
    if (runOnWorker !== undefined && definition.options.runner === Runner.Worker) return this.#startOnWorker(runOnWorker, context, definition, text);
    let value: unknown;
    try {
      const decoded = decode(text, this.#o.refs) as unknown[];
      // The code receives the schema's output (defaults, transforms); the record keeps what
      // the caller passed, which the ids derive from. A schema changed since the submit fails here.
      const { input } = definition.options;
      const args = input === undefined ? decoded : validateInput(definition.name, input, decoded);
      const run = () => runInContext(context, definition.fn, args);
      value = context instanceof Attempt && context.watches !== undefined ? context.runWatched(run) : run();
    } catch (error) {
      context.settle({ type: "failed", error });
      return;
    }
    if (isPromiseLike(value)) {
      value.then(
        (resolved: unknown) => context.settle(this.#encodeResult(resolved, context.record.id)),
        (error: unknown) => context.settle({ type: "failed", error }),
      );
    } else {
      context.settle(this.#encodeResult(value, context.record.id));
    }
  }

  /**
   * Runs the code on a worker thread. Its result is decoded here and encoded again, so a
   * returned execution forwards and the size limit holds as for code run on this thread.
   */
  #startOnWorker(runOnWorker: RunOnWorker, context: ExecutionContext, definition: TaskDefinition, text: string): void {
    let running: Promise<string>;
    try {
      const run = () => runOnWorker(definition, text, context);
      running = context instanceof Attempt && context.watches !== undefined ? context.runWatched(run) : run();
    } catch (error) {
      context.settle({ type: "failed", error });
      return;
    }
    running.then(
      (result) => {
        let value: unknown;
        try {
          value = decode(result, this.#o.refs);
        } catch (error) {
          context.settle({ type: "failed", error });
          return;
        }
        context.settle(this.#encodeResult(value, context.record.id));
      },
      (error: unknown) => context.settle({ type: "failed", error }),
    );
  }

  #encodeResult(value: unknown, id: string): Outcome {
    // Completing with a forward to itself would leave a result nobody can ever read.
    if (isExecution(value) && value.id === id) return { type: "failed", error: forwardsToItself(id) };
    try {
      const { text } = encode(value, "result", this.#o.refs);
      if (text.length > this.#o.maxPayloadBytes) {
        const error = new FloeError(
          ErrorCode.PayloadTooLarge,
          `the result encodes to ${text.length} characters, over the limit of ${this.#o.maxPayloadBytes}; ` +
            "return a reference to the data (an S3 key, say) instead of the data",
        );
        return { type: "failed", error };
      }
      return isExecution(value) ? { type: "completed", result: text, forward: value.id } : { type: "completed", result: text };
    } catch (error) {
      return { type: "failed", error };
    }
  }
}

/**
 * Whether this attempt is the re-run that followed a suspension (not a take-over of one
 * that died): every write of the run before it was flushed before it suspended.
 */
function resumedFromSuspension(record: ExecutionRecord): boolean {
  const { history } = record;
  return history.at(-2)?.state === State.Queued && history.at(-3)?.state === State.Suspended && history.at(-3)?.attempt === record.attempt;
}

function forwardsToItself(id: string): FloeError {
  return new FloeError(
    ErrorCode.ForwardCycle,
    `execution ${id} returned its own execution, so its result would be itself and could never be known; ` +
      "return a value, or the execution of another task",
  );
}

/**
 * One attempt: its context, its slot, and the recording of its outcome, in one object
 * rather than a closure for each.
 */
class Attempt extends ExecutionContext {
  readonly #o: AttemptsOptions;
  readonly #running: Map<string, ExecutionContext>;
  readonly #done: (error?: unknown) => void;
  cancelTimer: (() => void) | undefined = undefined;
  /** Learns of a cancellation made by another process, when the runtime asks for it. */
  watch: CancelWatch | undefined = undefined;
  #over = false;
  /** The caller's attempt, for an inline attempt: it runs in the caller's slot. */
  readonly #caller: ExecutionContext | undefined;
  /** How the attempt ended, once it settled. */
  outcome: Outcome | undefined = undefined;
  /** Whether an inline attempt's completion was recorded. */
  recorded = false;
  /** Whether an inline attempt's record is still only in memory (see `Attempts.runInline`). */
  unwritten = false;
  #writing: Promise<void> | undefined;
  /** Stops the timer that writes an unwritten inline record. */
  stopWriteTimer: (() => void) | undefined = undefined;
  /** What watches this attempt (see `attempt-watch.ts`), when the runtime has watchers. */
  watches: AttemptWatch[] | undefined = undefined;

  /** Tells `watchers` the attempt starts at `at`. */
  startWatches(watchers: readonly AttemptWatcher[], at: number): void {
    this.watches = watchers.map((watcher) => watcher.start(this.record, at));
    for (const watch of this.watches) this.traceparent ??= watch.traceparent;
  }

  /** Runs `fn` inside every watch's `run` (a tracer's span). */
  runWatched<T>(fn: () => T): T {
    return (this.watches ?? []).reduce<() => T>((inner, watch) => (watch.run === undefined ? inner : () => watch.run!(inner)), fn)();
  }

  /** Tells the watches how the attempt ended: `error` when its outcome could not be recorded. */
  #ended(error: unknown): void {
    const watches = this.watches;
    if (watches === undefined) return;
    this.watches = undefined;
    const end = { ...this.#ending(error), at: this.#o.clock.now() };
    for (const watch of watches) watch.end(end);
  }

  #ending(error: unknown): { ending: AttemptEnding; error?: unknown } {
    const { outcome } = this;
    if (error !== undefined || outcome === undefined || this.#lost) return { ending: AttemptEnding.Unrecorded, error };
    switch (outcome.type) {
      case "completed":
        return { ending: AttemptEnding.Completed };
      case "suspended":
        return { ending: AttemptEnding.Suspended };
      case "sleeping":
        return { ending: AttemptEnding.Sleeping };
      case "failed": {
        // Recognised by code: an error from another bundle is not an instance of this one's class.
        if ((outcome.error as { code?: unknown } | undefined)?.code === ErrorCode.Cancelled) return { ending: AttemptEnding.Cancelled, error: outcome.error };
        return { ending: this.#o.willRetry(this.record, outcome.error) ? AttemptEnding.Retried : AttemptEnding.Failed, error: outcome.error };
      }
      default:
        throw new Error(`unknown outcome ${JSON.stringify(outcome satisfies never)}`);
    }
  }

  /** Writes an unwritten inline record, once, as it is: running. */
  written(): Promise<void> {
    if (!this.unwritten || this.#lost) return Promise.resolve();
    this.#writing ??= Promise.resolve(this.#o.engine.writeInline(this.record)).then(({ created }) => {
      // Another run of the caller wrote it first (same id, same attempt): that run records
      // its outcome, and this one records nothing (see #commit).
      if (created) this.unwritten = false;
      else this.#lost = true;
    });
    return this.#writing;
  }

  /** Whether another run of the caller wrote this inline record first. */
  #lost = false;

  constructor(
    options: AttemptsOptions,
    running: Map<string, ExecutionContext>,
    record: ExecutionRecord,
    done: (error?: unknown) => void,
    caller?: ExecutionContext,
  ) {
    super(options.runtime, record, caller === undefined && options.slots !== undefined);
    this.#o = options;
    this.#running = running;
    this.#done = done;
    this.#caller = caller;
  }

  override get slot(): SlotLease | undefined {
    return this.#caller === undefined ? super.slot : this.#caller.slot;
  }

  override childSubmitted(id: string): (() => Promise<unknown>) | undefined {
    // A child's record names its parent: an inline parent's record is written first.
    if (this.unwritten) this.addWrite(this.written());
    return this.watch?.child(id);
  }

  protected settled(outcome: Outcome): void {
    this.outcome = outcome;
    this.cancelTimer?.();
    this.watch?.stop();
    this.#running.delete(this.record.id);
    if (this.writes.length === 0) this.#commit(outcome);
    else void flush(this).then((failure) => (failure === undefined ? this.#commit(outcome) : this.#unflushed(outcome, failure.reason)));
  }

  /**
   * A submission of the attempt could not be written (after the store's and SDK's retries):
   * an infrastructure fault, which must not fail the user's work. Where messages are
   * redelivered (take-overs are on), the attempt is left running and uncommitted and the
   * delivery fails: its message comes back, takes over, and the re-run registers the same
   * children again (sending a lost message again). The embedded engine has no redelivery,
   * so there the attempt fails instead, and its retries, if any, do the same.
   */
  #unflushed(outcome: Outcome, failure: unknown): void {
    if (this.#o.takeOverAfterMs !== undefined) this.#end(failure ?? new Error("a submission's write failed"));
    else this.#commit(outcome.type === "completed" ? { type: "failed", error: failure } : outcome);
  }

  #commit(outcome: Outcome): void {
    this.stopWriteTimer?.();
    // The record is another run's: its caller reads the outcome recorded there.
    if (this.#lost) return this.#end();
    // An inline record written meanwhile (its timer, a child) or being written: completed by an update.
    if (this.#writing !== undefined && this.unwritten) {
      this.#writing.then(
        () => this.#commit(outcome),
        (error: unknown) => this.#end(error),
      );
      return;
    }
    // Anything but a completion is recorded on a written record.
    if (this.unwritten && (this.#caller === undefined || outcome.type !== "completed")) {
      this.written().then(
        () => this.#commit(outcome),
        (error: unknown) => this.#end(error),
      );
      return;
    }
    try {
      const finished =
        this.#caller !== undefined && outcome.type === "completed"
          ? this.#completed(this.#o.engine.completeInline(this.record, outcome.result, outcome.forward, !this.unwritten))
          : this.#o.engine.finish(this.record, outcome);
      if (isPromiseLike(finished)) {
        finished.then(
          () => this.#end(),
          (error: unknown) => this.#end(error),
        );
      } else {
        this.#end();
      }
    } catch (error) {
      this.#end(error);
    }
  }

  /** Notes whether an inline completion was recorded. */
  #completed(recorded: MaybePromise<boolean>): MaybePromise<void> {
    if (!isPromiseLike(recorded)) {
      this.recorded = recorded;
      return undefined;
    }
    return recorded.then((r) => {
      this.recorded = r;
    });
  }

  #end(error?: unknown): void {
    // Once only, whatever path (a store error thrown after a partial commit) calls it again.
    if (this.#over) return;
    this.#over = true;
    this.#ended(error);
    this.active = false;
    if (this.held) {
      this.held = false;
      this.#o.slots?.release();
    }
    this.#done(error);
  }
}

/** The attempt a stray error was raised in, as {@link failStrayError} found it. */
export interface StrayErrorSource {
  readonly executionId: string;
  readonly taskName: string;
  readonly attempt: number;
  /** Whether the error failed the attempt: false when the attempt had already ended (or asked to suspend). */
  readonly failed: boolean;
}

/**
 * Fails the running attempt whose code raised `error` where nothing could catch it: a
 * promise rejected with no handler, or a throw in a timer's callback. Call it from a
 * process's `unhandledRejection` or `uncaughtException` listener, which Node runs in the
 * async context of the promise or callback that failed, so the attempt's context is the
 * current one there. The attempt fails as if its code had thrown `error` (retries apply)
 * and its signal fires.
 *
 * @returns where the error came from, or `undefined` when no attempt of this process raised it
 */
export function failStrayError(error: unknown): StrayErrorSource | undefined {
  const context = currentContext();
  if (context === undefined) return undefined;
  const { id, taskName, attempt } = context.record;
  const live = context instanceof Attempt && context.outcome === undefined && context.suspend === undefined;
  if (live) context.abort(error);
  return { executionId: id, taskName, attempt, failed: live };
}

/**
 * How long an inline execution runs before its record is written `running`: a shorter one
 * is written once, completed (one write instead of two), and shows on the run once done.
 */
export const INLINE_WRITE_AFTER_MS = 1_000;

const ignoreError = (): undefined => undefined;

/** Waits for every submission of the attempt; answers the first failure, if any. */
async function flush(context: ExecutionContext): Promise<{ reason: unknown } | undefined> {
  let flushed = 0;
  let failure: { reason: unknown } | undefined;
  while (flushed < context.writes.length) {
    const batch = context.writes.slice(flushed);
    flushed = context.writes.length;
    for (const result of await Promise.all(batch.map(settledAs))) {
      failure ??= result;
    }
  }
  return failure;
}

/** `undefined` once `write` succeeds, or the reason it failed (`undefined` reasons included). */
function settledAs(write: Promise<unknown>): Promise<{ reason: unknown } | undefined> {
  return write.then(
    () => undefined,
    (reason: unknown) => ({ reason }),
  );
}
