/**
 * The runtime: runs user code for the engine. It encodes submissions, derives child ids,
 * carries the running execution's context, turns `result()` into an in-process wait or a
 * suspension, and reports each attempt's outcome to the {@link ExecutionEngine}. The
 * embedded engine and the Lambda worker both drive it through {@link Runtime.process}.
 */
import { decode, decodeError, encode, encodeError, type ReferenceCodec } from "../codec/codec.ts";
import { lookup, type TaskDefinition } from "../define/registry.ts";
import { retryDelay } from "../define/options.ts";
import { ExecutionEngine, type NewExecution } from "../engine/execution-engine.ts";
import { isPromiseLike, type MaybePromise } from "../engine/step.ts";
import { attemptInRerun, endedBeforeRerun } from "../engine/rerun.ts";
import {
  State,
  WaitMode,
  isTerminal,
  type ExecutionRecord,
  type ExecutionState,
  type RunView,
  type TaskMessage,
} from "../engine/model.ts";
import type { BlobStore, Clock, ExecutionStore, IdSource, RunQuery, TaskQueue } from "../engine/ports.ts";
import { CancelledError, ErrorCode, FloeError, InvalidInputError, forwardCycle } from "../errors.ts";
import { validateInput, type InputSpec } from "../define/input.ts";
import { Attempts, type RunOnWorker, type Slots } from "./attempts.ts";
import { Waiters, type WaitCallback } from "./waiters.ts";
import { RecordReads } from "./record-reads.ts";
import { currentContext, type ExecutionContext } from "./context.ts";
import { Execution, isExecution, type ExecutionHost } from "./execution.ts";
import { collectExecutionIds, isPlainObject } from "./references.ts";
import { notBeforeOf, type StartDelay } from "./start-delay.ts";
import { wakeTime } from "./sleep.ts";
import { ExternalExecution } from "./external.ts";
import { callbackToken, newCallbackKey } from "./callback-token.ts";
import type { ExternalCompletion, RerunOutcome } from "../engine/execution-engine.ts";
import type { LogPage, LogReader, LogSink } from "../logs/execution-logs.ts";
import { captureConsole, type LogHost } from "../logs/log.ts";
import type { AttemptWatcher } from "./attempt-watch.ts";
import { AttemptTracer } from "./attempt-tracer.ts";
import { Reuse } from "./reuse.ts";
import { limitKeysOf } from "../define/limit-options.ts";

/** The dependencies and settings of a {@link Runtime}. */
export interface RuntimeOptions {
  readonly store: ExecutionStore;
  readonly queue: TaskQueue;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly ids: IdSource;
  /**
   * Encoded payloads longer than this many characters go to the blob store.
   * @default 32768
   */
  readonly blobThreshold?: number;
  /**
   * How long `result()` inside a task waits in process before the task suspends (and is
   * re-run from the start once what it awaits has finished). `undefined` never suspends.
   * @default undefined
   */
  readonly suspendAfterMs?: number;
  /** The concurrency slots, when the runtime limits concurrency itself. */
  readonly slots?: Slots;
  /**
   * A delivery of a message whose execution has been running this long starts a new
   * attempt: the worker of the old one died or outlived its visibility timeout (set it to
   * the visibility timeout). `undefined` never takes over: a delivery for a running
   * execution is a duplicate.
   * @default undefined
   */
  readonly takeOverAfterMs?: number;
  /**
   * The largest encoded arguments or result accepted, in characters: larger arguments are
   * refused at `submit`, a larger result fails its execution (without retries).
   * @default 10485760 (10 MiB)
   */
  readonly maxPayloadBytes?: number;
  /**
   * The widest fan-in a finishing execution releases itself; wider ones are left to the
   * coordinator, which groups them (see `ExecutionEngineOptions.inlineFanIn`).
   * @default Infinity
   */
  readonly inlineFanIn?: number;
  /**
   * How often, in milliseconds, a running attempt reads its own record to learn of a
   * cancellation made by another process (the API's, on AWS); each child it creates is
   * also checked, once its record exists, before it may start. `undefined` reads nothing:
   * a cancellation then reaches only the attempts of the runtime that writes it (the
   * embedded engine runs them all).
   * @default undefined
   */
  readonly cancelPollMs?: number;
  /**
   * Told of each terminal transition this runtime writes (after its own waiters): a host
   * of several runtimes (the local cloud) wakes its client's waits with it.
   */
  readonly onTerminal?: (id: string) => void;
  /** Called, and awaited, by {@link Runtime.close}. */
  readonly onClose?: () => unknown;
  /**
   * Waits outside any task (`result()`, `wait()`, `asCompleted()` at top level) read the
   * store again after `firstMs`, then at doubling intervals up to `maxMs`: for a runtime
   * that runs no task (a function connected to an orchestrator), whose waits no terminal
   * transition of its own wakes. `undefined` waits to be woken.
   * @default undefined
   */
  readonly pollTopLevel?: { readonly firstMs: number; readonly maxMs: number };
  /**
   * The base of external executions' callback URLs (`<base>/callbacks/<token>`): the API's
   * URL. `undefined` gives relative URLs.
   */
  readonly callbackBaseUrl?: string;
  /**
   * Where the lines tasks write (`log`, `console` inside a task) go, and where the API
   * reads them back. Without a sink they go to the console untagged; without a reader an
   * execution has no lines.
   */
  readonly logs?: RuntimeLogs;
  /**
   * Runs every attempt inside an OpenTelemetry span whose parent is the span that submitted
   * the execution (see `attempt-tracer.ts`), and keeps the submitting span's `traceparent`
   * on each new record.
   * @default false
   */
  readonly tracing?: boolean;
  /** Told of each attempt's start and end (metrics). */
  readonly watchers?: readonly AttemptWatcher[];
  /**
   * Runs the code of tasks marked `runner: "worker"` off the main thread (the embedded
   * engine's worker pool); without it they run here like any other.
   * @default undefined
   */
  readonly runOnWorker?: RunOnWorker;
}

/** The task logs of a {@link Runtime}. */
export interface RuntimeLogs {
  readonly sink?: LogSink;
  readonly reader?: LogReader;
  /**
   * Print each kept line too, as the console call would have printed it: where the console
   * is the user's terminal (the embedded engine, the local cloud), not on AWS.
   * @default false
   */
  readonly echo?: boolean;
}

export type { Slots } from "./attempts.ts";

/** The idempotency of a {@link Runtime.submitKeyed} start. */
export interface KeyedStart {
  /** The client's key (the `Idempotency-Key` header). */
  readonly key: string;
  /**
   * Who submits: keys are scoped to their caller. The HTTP API passes the authenticated
   * principal (`iam:…`, `jwt:…`), `local` for `floe dev`, `anonymous` without an identity.
   */
  readonly caller: string;
}

/**
 * Anything `Engine.submit` accepts besides a name: a task or workflow (`Task<A, R>` is one,
 * with `R` resolved). Its `submit` carries the types: `engine.submit(task, ...args)` checks
 * `args` against `A` and gives an `Execution<R>`.
 */
export interface Submittable<A extends unknown[], R> {
  readonly definition: TaskDefinition;
  /** A delayed start, set on what `task.with({ delayMs } | { startAt })` returns. */
  readonly delay?: StartDelay;
  submit(...args: A): Execution<R>;
}

/** The encoded arguments of every external execution: none. */
let noArgs: string | undefined;

/** How an external execution is completed: with a result, or an error (its message and code). */
export type ExternalOutcome =
  | { readonly result: unknown }
  | { readonly error: { readonly message: string; readonly code?: string | undefined } };

/** The error an external execution fails with, as its completion describes it. */
function externalError(error: { readonly message: string; readonly code?: string | undefined }): Error {
  const made = error.code === undefined ? new Error(error.message) : new FloeError(error.code, error.message);
  if (error.code === undefined) made.name = "ExternalError";
  // Thrown by no code: a stack would name only floe's completion path.
  delete made.stack;
  return made;
}

/** Runs user code for the {@link ExecutionEngine}; see the file comment. */
export class Runtime implements ExecutionHost, LogHost {
  readonly engine: ExecutionEngine;
  readonly logSink: LogSink | undefined;
  readonly echoLogs: boolean;
  readonly #o: RuntimeOptions;
  readonly #refs: ReferenceCodec;
  readonly #waiters: Waiters;
  readonly #attempts: Attempts;
  readonly #reads: RecordReads;
  #closed = false;
  /** The deployment's callback key, once read (see {@link Runtime.callbackKey}). */
  #callbackKey: string | undefined;
  #callbackBaseUrl: string | undefined;
  readonly #watchers: readonly AttemptWatcher[];
  readonly #reuse: Reuse;

  /** @param options - ports and settings */
  constructor(options: RuntimeOptions) {
    this.#o = options;
    this.#callbackBaseUrl = options.callbackBaseUrl;
    this.logSink = options.logs?.sink;
    this.echoLogs = options.logs?.echo ?? false;
    // Once per process, and only where tasks' lines have somewhere to go.
    if (this.logSink !== undefined) captureConsole();
    this.#refs = {
      idOf: (value) => {
        if (!isExecution(value)) return undefined;
        if (value.host !== this) throw foreign(value.id);
        return value.id;
      },
      revive: (id) => new Execution(id, this, existing),
    };
    this.engine = new ExecutionEngine({
      store: options.store,
      queue: options.queue,
      blobs: options.blobs,
      clock: options.clock,
      blobThreshold: options.blobThreshold ?? 32_768,
      policy: {
        retryDelayMs: (taskName, error, attempt) => {
          const definition = tryLookup(taskName);
          return definition === undefined ? undefined : safeRetryDelay(definition, error, attempt);
        },
        encodeError,
        errorFields: (encoded) => {
          const error = decodeError(encoded) as Error & { code?: unknown };
          return { name: error.name, message: error.message, code: typeof error.code === "string" ? error.code : undefined, stack: error.stack };
        },
      },
      onTerminal: (record) => this.#onTerminal(record),
      inlineFanIn: options.inlineFanIn,
    });
    this.#reuse = new Reuse({
      store: options.store,
      engine: this.engine,
      ids: options.ids,
      clock: options.clock,
      encodeReference: (id) => encode(new Execution(id, this, existing), "result", this.#refs).text,
    });
    this.#waiters = new Waiters(options.store, options.clock);
    this.#reads = new RecordReads(options.store);
    this.#watchers = [...(options.tracing === true ? [new AttemptTracer()] : []), ...(options.watchers ?? [])];
    this.#attempts = new Attempts({
      runtime: this,
      engine: this.engine,
      clock: options.clock,
      refs: this.#refs,
      slots: options.slots,
      takeOverAfterMs: options.takeOverAfterMs,
      maxPayloadBytes: options.maxPayloadBytes ?? defaultMaxPayload,
      cancelPollMs: options.cancelPollMs,
      watchers: this.#watchers,
      runOnWorker: options.runOnWorker,
      willRetry: (record, error) => {
        const definition = tryLookup(record.taskName);
        return definition !== undefined && safeRetryDelay(definition, error, attemptInRerun(record)) !== undefined;
      },
    });
  }

  /**
   * Starts a run of a workflow or task (see `Engine.submit`).
   * @param target - a task or workflow, or its name
   * @param args - its arguments
   */
  submit<A extends unknown[], R>(target: Submittable<A, R>, ...args: NoInfer<A>): Execution<R>;
  submit(target: string, ...args: unknown[]): Execution<unknown>;
  submit(target: Submittable<unknown[], unknown> | string, ...args: unknown[]): Execution<unknown> {
    if (typeof target === "string") return this.submitWithin(undefined, lookup(target), args);
    return this.submitWithin(undefined, target.definition, args, target.delay);
  }

  /**
   * Submits `definition(...args)` as a child of `context`'s execution, or as a new run.
   * Validation and encoding happen now, so bad input throws here and writes nothing; the
   * writes themselves complete before the parent's attempt ends.
   */
  submitWithin(context: ExecutionContext | undefined, definition: TaskDefinition, args: unknown[], delay?: StartDelay): Execution<unknown> {
    if (this.#closed) throw closed();
    if (context?.aborted) {
      throw new CancelledError(`cannot submit "${definition.name}": execution ${context.record.id} is no longer running`);
    }
    const notBefore = delay === undefined ? undefined : notBeforeOf(definition.name, delay, this.#o.clock.now());
    const encoded = this.#encodeArgs(definition, args);
    const waitOn = waitedIds(definition, args, encoded.refs);
    const limits = limitKeysOf(definition.name, definition.options, args);
    const parent = context?.record;
    const { memo, debounce } = definition.options;
    if (debounce !== undefined) checkDebounced(definition, encoded.refs, delay);
    const windowKey = debounce === undefined ? undefined : this.#reuse.windowKey(definition, debounce, args);
    const cache = this.#reuse.cacheOf(definition, args, encoded.text);
    let id: string;
    if (context === undefined) {
      id = this.#o.ids.fresh();
    } else if (memo === true) {
      id = this.#reuse.memoId(context.record.runId, definition, encoded.text);
    } else {
      id = this.#childId(context, definition, encoded.text);
    }
    const known = context?.known?.get(id);
    // Made by an earlier run of this parent and fully registered: nothing to write again.
    if (known !== undefined && context?.knownFlushed === true && !known.guarded) return new Execution(id, this, existing);
    const spec = {
      id,
      runId: parent?.runId ?? id,
      parentId: parent?.id,
      taskName: definition.name,
      args: encoded.text,
      refs: encoded.refs,
      waitOn,
      admit: context?.childSubmitted(id),
      notBefore,
      trace: this.#trace(context, definition),
      rerun: parent?.rerun,
      limits,
    };
    const register = () =>
      debounce !== undefined && windowKey !== undefined
        ? this.#reuse.debounce(spec, windowKey, debounce)
        : cache !== undefined
          ? this.#reuse.registerCached({ ...spec, cache })
          : this.engine.register(spec);
    // In a re-run, a child waiting on siblings registers once their registrations (their
    // restarts) have landed: read before, a sibling that failed before the re-run would
    // count as finished, and the child would start once early.
    const upstreams = parent?.rerun === undefined || waitOn.length === 0 ? undefined : context?.registrationsOf(waitOn);
    const created = upstreams === undefined ? register() : upstreams.then(register);
    if (parent?.rerun !== undefined && isPromiseLike(created)) context?.registering(id, Promise.resolve(created));
    if (!isPromiseLike(created)) return new Execution(id, this, existing);
    created.then(undefined, ignore);
    context?.addWrite(created);
    return new Execution(id, this, created);
  }

  /** The `traceparent` a submission from `context` (or from outside any task) keeps, when traces are on. */
  #trace(context: ExecutionContext | undefined, definition: TaskDefinition): string | undefined {
    return this.#o.tracing === true ? AttemptTracer.submitting(context?.traceparent, definition.name) : undefined;
  }

  /** Writes out what the watchers hold (metrics): a Lambda handler calls it before returning. */
  flushWatchers(): void {
    for (const watcher of this.#watchers) watcher.flush?.();
  }

  /**
   * The id of a call of `definition` with arguments encoded as `text` inside `context`'s
   * attempt. One digest names the call; a repeat of the same call within the attempt gets
   * the digest and its occurrence (counting by digest keeps the map's keys short, however
   * large the arguments); the id source places it in its run's family, if it has one.
   */
  #childId(context: ExecutionContext, definition: TaskDefinition, text: string): string {
    const digest = this.#o.ids.derive([context.record.id, definition.name, text]);
    const occurrence = context.occurrence(digest);
    const derived = occurrence === 1 ? digest : `${digest}.${occurrence}`;
    return this.#o.ids.child === undefined ? derived : this.#o.ids.child(context.record.runId, derived);
  }

  /**
   * Calls `definition(...args)` and waits for its result: `submitWithin(...).result()`,
   * except that an `inline` task called inside a task (with no execution among its
   * arguments) runs here, in the caller's attempt, as an execution of its own (see
   * `TaskOptions.inline`). The caller's attempt ends only once the outcome is recorded.
   */
  call(context: ExecutionContext | undefined, definition: TaskDefinition, args: unknown[]): Promise<unknown> {
    const { inline, memo, cache } = definition.options;
    // A memo or cached call may find an execution that exists: never run inline.
    if (context === undefined || !inline || memo === true || cache !== undefined) return this.submitWithin(context, definition, args).result();
    if (this.#closed) throw closed();
    if (context.aborted) {
      throw new CancelledError(`cannot call "${definition.name}": execution ${context.record.id} is no longer running`);
    }
    const encoded = this.#encodeArgs(definition, args);
    // Executions among the arguments are waited for or linked: the usual path.
    if (encoded.refs.length > 0) return this.submitWithin(context, definition, args).result();
    // The id submitWithin derives, so a re-run of the caller finds the execution either way.
    const id = this.#childId(context, definition, encoded.text);
    // Noted with the caller's other children, which its cancellation cancels; no check at
    // creation: the execution runs in the caller's attempt and learns of a cancellation with it.
    context.childSubmitted(id);
    const { runId, id: parentId } = context.record;
    const spec = { id, runId, parentId, taskName: definition.name, args: encoded.text, refs: noIds, waitOn: noIds, trace: this.#trace(context, definition) };
    const ran = this.#runInline(context, definition, spec);
    context.addWrite(ran);
    const execution = new Execution(id, this, ran);
    // Anything but a completion recorded here (a failure, a retry, a suspension, a forward,
    // a record found finished or elsewhere) is read and awaited as any execution is.
    return ran.then((ended) => (ended === undefined ? this.result(execution, true) : ended.value));
  }

  /**
   * Creates an inline execution (or finds it, on a re-run of the caller) and runs it here;
   * resolves to its value when its completion was recorded, `undefined` otherwise.
   */
  async #runInline(context: ExecutionContext, definition: TaskDefinition, spec: NewExecution): Promise<{ readonly value: unknown } | undefined> {
    // A re-run knows the children its parent made (one read): a known one is not created again.
    const known = context.known?.get(spec.id);
    // A first call writes nothing before it runs (see `Attempts.runInline`); a re-run of the
    // caller that may have made it already looks first.
    const first = known === undefined && context.record.attempt === 1 && context.record.generation === 1;
    const started = known !== undefined ? { record: known, created: false } : first ? { record: await this.engine.inlineRecord(spec), created: true } : await this.engine.startInline(spec);
    let record: ExecutionRecord | undefined = started.record;
    const rerun = context.record.rerun;
    if (!started.created) {
      if (rerun !== undefined && endedBeforeRerun(record, rerun)) {
        // Failed or cancelled before the run's re-run: it runs again here, as a queued child
        // would be started again.
        record = await this.engine.restartInline(record, rerun);
      } else if (record.state === State.Running) {
        // Its runner died with the caller's earlier attempt. One re-run takes it over.
        record = await this.engine.retakeInline(record);
      } else {
        return undefined;
      }
      if (record === undefined) return undefined;
    }
    const { outcome, recorded } = await this.#attempts.runInline(context, definition, record, !first);
    if (!recorded || outcome.type !== "completed" || outcome.forward !== undefined) return undefined;
    return { value: decode(outcome.result, this.#refs) };
  }

  /**
   * Starts a run under a caller's idempotency key: the same caller, workflow, key and
   * arguments always give the same execution, however often and however concurrently they
   * are submitted. The key's record, put conditionally before anything else is written,
   * maps it to a random execution id and a digest of the arguments: a request with other
   * arguments is refused having written and sent nothing, and one that finds the key mapped
   * to its arguments registers that execution again (idempotent), which finishes a request
   * that died after the put and sends a first message that was lost.
   *
   * @param idempotency - the key, and the caller whose keys it is among (keys of other callers never meet it)
   * @throws FloeError `FLOE_IDEMPOTENCY_CONFLICT` when the caller used the key with other arguments
   */
  async submitKeyed(definition: TaskDefinition, args: unknown[], idempotency: KeyedStart, delay?: StartDelay): Promise<Execution<unknown>> {
    if (this.#closed) throw closed();
    const notBefore = delay === undefined ? undefined : notBeforeOf(definition.name, delay, this.#o.clock.now());
    const encoded = this.#encodeArgs(definition, args);
    const waitOn = waitedIds(definition, args, encoded.refs);
    const limits = limitKeysOf(definition.name, definition.options, args);
    const { key, caller } = idempotency;
    const claim = {
      // Derived so every process finds the same record; never shown to anyone.
      key: this.#o.ids.derive(["idempotency-key", JSON.stringify([caller, definition.name, key])]),
      executionId: this.#o.ids.fresh(),
      // The id source's digest: SHA-256 on AWS, keyed by the engine in process.
      digest: this.#o.ids.derive(["idempotency-args", encoded.text]),
      createdAt: this.#o.clock.now(),
    };
    const stored = await this.#o.store.putIdempotencyRecord(claim);
    if (stored.digest !== claim.digest) {
      throw new FloeError(
        ErrorCode.IdempotencyConflict,
        `the idempotency key "${key}" was already used for "${definition.name}" with other arguments; ` +
          "use a new key for a new request",
      );
    }
    const id = stored.executionId;
    await this.engine.register({ id, runId: id, taskName: definition.name, args: encoded.text, refs: encoded.refs, waitOn, notBefore, trace: this.#trace(undefined, definition), limits });
    return new Execution(id, this, existing);
  }

  /**
   * The n-th `sleep` of `context`'s code (see `sleep`): passes at once when an earlier run
   * fixed its wake time and that time has come; otherwise ends the attempt as sleeping.
   */
  sleep(context: ExecutionContext, duration: number | Date): Promise<void> {
    if (context.aborted) return Promise.reject(new CancelledError(`execution ${context.record.id} is no longer running`));
    const now = this.#o.clock.now();
    const n = context.sleeps++;
    const fixed = context.record.wakes?.[n];
    if (fixed !== undefined && fixed <= now) return Promise.resolve();
    const until = fixed ?? wakeTime(duration, now);
    context.requestSleep(until, [...(context.record.wakes ?? []).slice(0, n), until]);
    // The attempt ends as sleeping; the code that awaits this never resumes in this run.
    return new Promise<void>(() => undefined);
  }

  /** A handle on an existing execution, by id (for the HTTP API and tools). */
  reference(id: string): Execution<unknown> {
    return new Execution(id, this, existing);
  }

  #encodeArgs(definition: TaskDefinition, args: unknown[]): ReturnType<typeof encode> {
    // Every door (a call, submit, map, the HTTP API, a connected function) passes here, before any write.
    const { input } = definition.options;
    if (input !== undefined) checkInput(definition, input, args);
    const encoded = encode(args, "args", this.#refs);
    const max = this.#o.maxPayloadBytes ?? defaultMaxPayload;
    if (encoded.text.length > max) {
      throw new FloeError(
        ErrorCode.PayloadTooLarge,
        `the arguments of "${definition.name}" encode to ${encoded.text.length} characters, over the limit of ${max}; ` +
          "pass a reference to the data (an S3 key, say) instead of the data",
      );
    }
    return encoded;
  }

  /**
   * Handles one delivered message: claims the execution, runs the attempt and records its
   * outcome. A duplicate or stale delivery does nothing. The Lambda worker's entry point.
   */
  process(message: TaskMessage): Promise<void> {
    if (this.#callbackKey !== undefined) return this.#attempts.process(message);
    // Read once per process, before any code runs: `external()` answers its URL at once.
    const key = this.callbackKey();
    return isPromiseLike(key) ? key.then(() => this.#attempts.process(message)) : this.#attempts.process(message);
  }

  /** {@link Runtime.process} with a callback instead of a promise, for the embedded engine. */
  dispatch(message: TaskMessage, done: (error?: unknown) => void): void {
    if (this.#callbackKey !== undefined) return this.#attempts.dispatch(message, done);
    let key: ReturnType<Runtime["callbackKey"]>;
    try {
      key = this.callbackKey();
    } catch (error) {
      this.#o.slots?.release();
      return done(error);
    }
    if (!isPromiseLike(key)) return this.#attempts.dispatch(message, done);
    key.then(
      () => this.#attempts.dispatch(message, done),
      (error: unknown) => {
        this.#o.slots?.release();
        done(error);
      },
    );
  }

  /**
   * The deployment's callback key: read from the store once per process (and created
   * there on a deployment's first use), then kept.
   */
  callbackKey(): MaybePromise<string> {
    if (this.#callbackKey !== undefined) return this.#callbackKey;
    const key = this.#o.store.callbackKey(newCallbackKey());
    if (!isPromiseLike(key)) return (this.#callbackKey = key);
    return Promise.resolve(key).then((k) => (this.#callbackKey = k));
  }

  /**
   * Sets the base of callback URLs (see `RuntimeOptions.callbackBaseUrl`): for a server that
   * learns its own URL only once it listens (`floe dev --port 0`).
   */
  useCallbackBaseUrl(url: string): void {
    this.#callbackBaseUrl = url;
  }

  /**
   * Creates or finds the external execution of `context`'s code named `name` (see
   * `external`): its id derives from the caller, the name and the call's occurrence.
   */
  external(context: ExecutionContext, name: string, timeoutMs: number): ExternalExecution<unknown> {
    if (this.#closed) throw closed();
    if (context.aborted) throw new CancelledError(`cannot create external "${name}": execution ${context.record.id} is no longer running`);
    const key = this.#callbackKey;
    // Read before the attempt's code started (process, dispatch): only a runtime driven otherwise lacks it.
    if (key === undefined) throw new Error("floe read no callback key before running this attempt; external() needs one");
    const { record } = context;
    const digest = this.#o.ids.derive([record.id, "floe:external", name]);
    const occurrence = context.occurrence(digest);
    const derived = occurrence === 1 ? digest : `${digest}.${occurrence}`;
    const id = this.#o.ids.child === undefined ? derived : this.#o.ids.child(record.runId, derived);
    const token = callbackToken(key, id);
    const known = context.known?.get(id);
    if (known !== undefined && context.knownFlushed) return new ExternalExecution(id, this, existing, token, this.#callbackBaseUrl);
    const spec = { id, runId: record.runId, parentId: record.id, taskName: name, args: (noArgs ??= encode([], "args", this.#refs).text), timeoutAt: this.#o.clock.now() + timeoutMs, routeTo: record.taskName };
    const created = this.engine.createExternal(spec);
    if (!isPromiseLike(created)) return new ExternalExecution(id, this, existing, token, this.#callbackBaseUrl);
    const write = Promise.resolve(created);
    write.then(undefined, ignore);
    context.addWrite(write);
    return new ExternalExecution(id, this, write, token, this.#callbackBaseUrl);
  }

  /**
   * Completes an external execution from outside with a result or an error (see
   * `ExecutionEngine.completeExternal`); a second completion changes nothing.
   */
  complete(id: string, outcome: ExternalOutcome): Promise<ExternalCompletion> {
    if (this.#closed) return Promise.reject(closed());
    let encoded: { readonly result: string } | { readonly error: unknown };
    try {
      encoded = "result" in outcome ? { result: encode(outcome.result, "result", this.#refs).text } : { error: externalError(outcome.error) };
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the codec threw
      return Promise.reject(error);
    }
    return Promise.resolve(this.engine.completeExternal(id, encoded));
  }

  result(execution: Execution<unknown>, raiseOnFailure: boolean): Promise<unknown> {
    // The commonest cases run without an async frame: a join reading thousands of finished
    // results, and a chain awaiting each call in turn.
    let firstRead: Promise<ExecutionRecord | undefined> | undefined;
    if (execution.created === existing) {
      // A re-run knows the children an earlier run made: a finished one's record is final.
      const known = currentContext()?.known?.get(execution.id);
      const record = known !== undefined && isTerminal(known.state) ? known : this.#reads.read(execution.id, false);
      // A store that answers later (DynamoDB): the general path starts from this read
      // rather than make it again, and so sees its failure.
      if (isPromiseLike(record)) firstRead = record;
      else if (record !== undefined) {
        let context: ExecutionContext | undefined;
        try {
          context = this.#callerContext();
          const value = this.#finishedValue(record);
          if (value !== notReady) return Promise.resolve(value);
        } catch (error) {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the codec or the context check threw
          return Promise.reject(error);
        }
        // Woken in process, unless the wait is one that polls or suspends (the general path).
        const inProcess = context === undefined ? this.#o.pollTopLevel === undefined : this.#o.suspendAfterMs === undefined;
        if (!isTerminal(record.state) && inProcess) {
          return new Promise((resolve, reject) => {
            this.#waitInProcess(context, [execution.id], WaitMode.All, undefined, (_finished, error) => {
              if (error !== undefined) {
                // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the wait gave
                reject(error);
                return;
              }
              // This runs inside the finishing task's completion, which must not see what
              // reading the result throws: that goes to the caller.
              try {
                const done = this.#o.store.get(execution.id);
                const value = isPromiseLike(done) || done === undefined ? notReady : this.#finishedValue(done);
                // Anything else (a failure, a forward, a blob) takes the general path, in the
                // caller's context: this callback runs in the finishing task's.
                resolve(value === notReady ? this.#resultIn(context, execution, raiseOnFailure) : value);
              } catch (thrown) {
                // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the codec threw
                reject(thrown);
              }
            });
          });
        }
      }
    }
    return this.#result(execution, raiseOnFailure, firstRead);
  }

  /** The value of a record that completed with an inline result of its own; {@link notReady} otherwise. */
  #finishedValue(record: ExecutionRecord): unknown {
    if (record.state !== State.Completed || record.forward !== undefined || record.result === undefined || !("inline" in record.result)) {
      return notReady;
    }
    return decode(record.result.inline, this.#refs);
  }

  #result(execution: Execution<unknown>, raiseOnFailure: boolean, firstRead?: Promise<ExecutionRecord | undefined>): Promise<unknown> {
    try {
      return this.#resultIn(this.#callerContext(), execution, raiseOnFailure, firstRead);
    } catch (error) {
      firstRead?.then(undefined, ignore);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the context check threw
      return Promise.reject(error);
    }
  }

  /**
   * `result()` for a caller whose context is known.
   * @param firstRead - the execution's record, already being read
   */
  async #resultIn(
    context: ExecutionContext | undefined,
    execution: Execution<unknown>,
    raiseOnFailure: boolean,
    firstRead?: Promise<ExecutionRecord | undefined>,
  ): Promise<unknown> {
    if (execution.created !== existing) await execution.created;
    let id = execution.id;
    let followed: Set<string> | undefined;
    let pending = firstRead;
    // An execution this runtime has just submitted would most likely be found stale by an
    // eventually consistent read, and read twice.
    let consistent = execution.created !== existing;
    for (;;) {
      const read = pending ?? this.#reads.read(id, consistent);
      pending = undefined;
      consistent = false;
      const record = isPromiseLike(read) ? await read : read;
      if (record === undefined) throw unknownExecution(id);
      if (!isTerminal(record.state)) {
        await this.block(context, [id], WaitMode.All);
        continue;
      }
      if (record.state === State.Completed && record.forward !== undefined) {
        // Forwards that come back to an execution already followed have no result: say so
        // rather than follow them forever.
        (followed ??= new Set()).add(id);
        if (followed.has(record.forward)) {
          const cycle = forwardCycle([...followed, record.forward]);
          if (raiseOnFailure) throw cycle;
          return cycle;
        }
        id = record.forward;
        // Over a store that answers at once, a long chain would otherwise hold the event loop.
        if (followed.size % hopsPerTurn === 0) await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (record.state === State.Completed && record.result !== undefined) {
        const { result } = record;
        return decode("inline" in result ? result.inline : await this.engine.read(result), this.#refs);
      }
      const error = record.error === undefined ? new Error(`execution ${id} ${record.state}`) : decodeError(await this.engine.read(record.error));
      if (raiseOnFailure) throw error;
      return error;
    }
  }

  async state(execution: Execution<unknown>): Promise<ExecutionState> {
    await execution.created;
    return (await this.#record(execution.id)).state;
  }

  /**
   * Re-runs the failed or cancelled run that execution `id` belongs to, in place (see
   * `ExecutionEngine.rerun`); answers what it did without throwing for a refusal.
   */
  rerun(id: string): Promise<RerunOutcome> {
    if (this.#closed) return Promise.reject(closed());
    return Promise.resolve(this.engine.rerun(id));
  }

  async cancel(execution: Execution<unknown>): Promise<void> {
    await execution.created;
    await this.engine.cancel(execution.id, new CancelledError(`execution ${execution.id} was cancelled`));
  }

  /**
   * Blocks the caller until the executions finish (all, or any one): in process, giving up
   * the caller's concurrency slot meanwhile, or by suspending the calling execution.
   */
  block(context: ExecutionContext | undefined, ids: readonly string[], mode: WaitMode): Promise<unknown> {
    const { suspendAfterMs, pollTopLevel } = this.#o;
    if (context === undefined && pollTopLevel !== undefined) return this.#poll(ids, mode, pollTopLevel);
    if (context === undefined || suspendAfterMs === undefined) return this.#waitInProcessFor(context, ids, mode);
    return this.#blockOrSuspend(context, ids, mode, suspendAfterMs);
  }

  /** Reads the executions (each wait reads them once) until they finish, backing off. */
  async #poll(ids: readonly string[], mode: WaitMode, { firstMs, maxMs }: NonNullable<RuntimeOptions["pollTopLevel"]>): Promise<void> {
    for (let delay = firstMs; !(await this.#waitInProcessFor(undefined, ids, mode, delay)); delay = Math.min(delay * 2, maxMs));
  }

  async #blockOrSuspend(context: ExecutionContext, ids: readonly string[], mode: WaitMode, suspendAfterMs: number): Promise<void> {
    if (suspendAfterMs > 0 && (await this.#waitInProcessFor(context, ids, mode, suspendAfterMs))) return;
    context.requestSuspend(ids, mode);
    // The attempt ends as suspended; the code that awaits this never resumes in this run.
    return new Promise<void>(() => undefined);
  }

  /** Resolves `true` once the executions finish, or `false` after `timeoutMs`. */
  #waitInProcessFor(context: ExecutionContext | undefined, ids: readonly string[], mode: WaitMode, timeoutMs?: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#waitInProcess(context, ids, mode, timeoutMs, (finished, error) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the wait gave
        if (error !== undefined) reject(error);
        else resolve(finished);
      });
    });
  }

  /**
   * Waits in process for the executions, giving up the caller's concurrency slot meanwhile
   * and taking one back before calling `done` (at once when one is free, the usual case).
   */
  #waitInProcess(context: ExecutionContext | undefined, ids: readonly string[], mode: WaitMode, timeoutMs: number | undefined, done: WaitCallback): void {
    const slot = context?.slot;
    const slots = this.#o.slots;
    if (slot?.held !== true || slots === undefined) {
      this.#waiters.wait(ids, mode, timeoutMs, done);
      return;
    }
    slot.held = false;
    slots.release();
    this.#waiters.wait(ids, mode, timeoutMs, (finished, error) => {
      // After a timed-out or failed wait with a time limit the caller suspends: it needs no slot back.
      const takeBack = slot.active && ((finished && error === undefined) || timeoutMs === undefined);
      if (!takeBack) {
        done(finished, error);
        return;
      }
      if (slots.tryAcquire()) {
        slot.held = true;
        done(finished, error);
        return;
      }
      void slots.acquire().then(() => {
        // The attempt may have ended (timed out, cancelled) while this waited for a slot.
        if (slot.active) slot.held = true;
        else slots.release();
        done(finished, error);
      });
    });
  }

  #onTerminal(record: ExecutionRecord): void {
    this.#waiters.finished(record);
    if (record.state === State.Cancelled) {
      this.#attempts.running.get(record.id)?.abort(new CancelledError(`execution ${record.id} was cancelled`));
    }
    this.#o.onTerminal?.(record.id);
  }

  /**
   * Wakes this runtime's waits for an execution another runtime finished (a local cloud
   * tells its client; tasks are never told, as in Lambda, where a task's function learns
   * of another's finish only by being run again).
   */
  finishedElsewhere(id: string): void {
    // A wait registers before it reads, so one that starts later sees the finish itself:
    // no read for an execution nobody here awaits (in AWS, nothing would make it).
    if (!this.#waiters.has(id)) return;
    const record = this.#o.store.get(id);
    if (isPromiseLike(record)) {
      record.then((found) => found !== undefined && isTerminal(found.state) && this.#waiters.finished(found), ignore);
    } else if (record !== undefined && isTerminal(record.state)) {
      this.#waiters.finished(record);
    }
  }

  /** The executions this runtime's waits are for now (for tools and tests watching a wait begin). */
  awaitedIds(): string[] {
    return this.#waiters.ids();
  }

  async #record(id: string): Promise<ExecutionRecord> {
    const record = await this.#o.store.get(id);
    if (record === undefined) throw unknownExecution(id);
    return record;
  }

  /** The context of the calling task, checked to belong to this engine. */
  #callerContext(): ExecutionContext | undefined {
    if (this.#closed) throw closed();
    const context = currentContext();
    if (context !== undefined && context.runtime !== this) {
      throw new FloeError(
        ErrorCode.ForeignExecution,
        `an execution of another engine was awaited inside "${context.record.taskName}"; ` +
          "submit it on the engine that runs this task (call the task inside the workflow instead of passing it in)",
      );
    }
    return context;
  }

  /** The current records of `executions`, once their submissions are written. */
  async records(executions: readonly Execution<unknown>[]): Promise<(ExecutionRecord | undefined)[]> {
    return Promise.all(
      executions.map(async (e) => {
        if (e.created !== existing) await e.created.catch(ignore);
        return this.#o.store.get(e.id);
      }),
    );
  }

  /** The context of the running task, if it belongs to this engine (for `wait` and `asCompleted`). */
  contextOf(): ExecutionContext | undefined {
    return this.#callerContext();
  }

  /** The time on this runtime's clock, epoch milliseconds (what a run view's cursor holds). */
  now(): number {
    return this.#o.clock.now();
  }

  async getRun(runId: string): Promise<RunView | undefined> {
    const run = await this.engine.run(runId);
    return run === undefined ? undefined : structuredClone(run);
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const record = await this.#o.store.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  async listRuns(query: RunQuery = {}): Promise<ExecutionRecord[]> {
    return structuredClone(await this.#o.store.runs(query));
  }

  /** The time a task's log line is stamped with: the runtime's clock. */
  logClock(): number {
    return this.#o.clock.now();
  }

  /**
   * An execution's log lines, oldest first (see `LogReader`); none without a reader.
   * @param record - the execution, as stored
   * @param attempt - only this attempt's lines
   */
  async readLogs(record: ExecutionRecord, attempt?: number): Promise<LogPage> {
    const reader = this.#o.logs?.reader;
    if (reader === undefined) return { lines: [] };
    return reader.read({ record, ...(attempt === undefined ? {} : { attempt }), inlineHosts: await this.#inlineHosts(record) });
  }

  /**
   * The tasks whose workers may have run `record` inline: its nearest ancestors, while each
   * is an inline task itself, and the first that is not (which ran them all in its worker).
   */
  async #inlineHosts(record: ExecutionRecord): Promise<string[]> {
    const hosts: string[] = [];
    let current = record;
    for (let depth = 0; depth < 8 && tryLookup(current.taskName)?.options.inline === true && current.parentId !== undefined; depth += 1) {
      const parent = await this.#o.store.get(current.parentId);
      if (parent === undefined) break;
      hosts.push(parent.taskName);
      current = parent;
    }
    return hosts;
  }

  /** Whether {@link Runtime.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const context of this.#attempts.running.values()) context.abort(closed());
    this.#waiters.failAll(closed());
    await this.#o.onClose?.();
  }
}

const ignore = (): undefined => undefined;
/** How many forwards `result()` follows before letting the event loop run. */
const hopsPerTurn = 64;
const defaultMaxPayload = 10 * 1024 * 1024;
const noIds: readonly string[] = [];

/** What {@link Runtime} `#finishedValue` gives for a record without a value to read at once. */
const notReady = Symbol("not ready");

/** The `created` of an execution that is known to exist. */
const existing: Promise<unknown> = Promise.resolve();

/**
 * Refuses what a debounced call cannot take: executions among its arguments (a superseded
 * call's would be linked to nothing that runs) and a delayed start (the window sets the start).
 */
function checkDebounced(definition: TaskDefinition, refs: readonly string[], delay: StartDelay | undefined): void {
  if (refs.length > 0) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `"${definition.name}" is debounced, and its arguments hold executions; pass their results (await them first), or drop debounce`,
    );
  }
  if (delay !== undefined) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `"${definition.name}" is debounced, so its window sets its start; call it without with({ delayMs | startAt }), or drop debounce`,
    );
  }
}

/** The ids among `refs` (every execution in `args`) that the task's `wait` option names. */
function waitedIds(definition: TaskDefinition, args: readonly unknown[], refs: readonly string[]): readonly string[] {
  const spec = definition.options.wait;
  switch (spec.type) {
    case "none":
      return noIds;
    case "all":
      return refs;
    default:
      return namedIds(definition, spec, args);
  }
}

function namedIds(
  definition: TaskDefinition,
  spec: Exclude<TaskDefinition["options"]["wait"], { type: "none" } | { type: "all" }>,
  args: readonly unknown[],
): readonly string[] {
  const out = new Set<string>();
  switch (spec.type) {
    case "positions":
      for (const position of spec.positions) {
        if (position >= args.length) {
          throw new FloeError(
            ErrorCode.InvalidOption,
            `"${definition.name}" waits for argument ${position}, but it was called with ${args.length} argument(s); ` +
              "positions start at 0: fix the wait option or pass the argument",
          );
        }
        collectExecutionIds(args[position], out);
      }
      break;
    case "properties": {
      const [only] = args;
      if (args.length !== 1 || !isPlainObject(only)) {
        throw new FloeError(
          ErrorCode.InvalidOption,
          `"${definition.name}" waits for properties ${spec.names.map((n) => `"${n}"`).join(", ")} of a single object ` +
            `argument, but it was called with ${args.length} argument(s)${args.length === 1 ? " that is not a plain object" : ""}; ` +
            "pass one object, or name argument positions in wait",
        );
      }
      for (const name of spec.names) {
        if (!(name in only)) {
          throw new FloeError(
            ErrorCode.InvalidOption,
            `"${definition.name}" waits for property "${name}", which its argument does not have ` +
              `(it has ${Object.keys(only).map((k) => `"${k}"`).join(", ") || "no properties"}); fix the wait option`,
          );
        }
        collectExecutionIds(only[name], out);
      }
      break;
    }
    default:
      throw new Error(`unknown wait spec ${JSON.stringify(spec satisfies never)}`);
  }
  return [...out];
}

/**
 * The retry delay for `error`, which may be anything a task threw: one whose fields throw
 * when read is judged by its readable copy, and a `retryOn` that throws means no retry.
 * Either way the failure is recorded: nothing stays running.
 */
function safeRetryDelay(definition: TaskDefinition, error: unknown, attempt: number): number | undefined {
  const { retries } = definition.options;
  try {
    return retryDelay(retries, error, attempt);
  } catch {
    // Read below from the copy the execution's record keeps.
  }
  try {
    return retryDelay(retries, decodeError(encodeError(error)), attempt);
  } catch {
    return undefined;
  }
}

function tryLookup(name: string): TaskDefinition | undefined {
  try {
    return lookup(name);
  } catch {
    return undefined;
  }
}

function foreign(id: string): FloeError {
  return new FloeError(
    ErrorCode.ForeignExecution,
    `execution ${id} belongs to another engine and cannot be passed here; submit its task on this engine instead`,
  );
}

function unknownExecution(id: string): FloeError {
  return new FloeError(ErrorCode.UnknownExecution, `no execution has the id "${id}" in this engine`);
}

function closed(): FloeError {
  return new FloeError(ErrorCode.EngineClosed, "this engine is closed; create a new one with createEngine()");
}

/**
 * Validates arguments against a task's `input`. An execution among them is refused by the
 * schema (it is not the value the schema describes), and the message says what to pass.
 */
function checkInput(definition: TaskDefinition, input: InputSpec, args: unknown[]): void {
  try {
    validateInput(definition.name, input, args);
  } catch (error) {
    const executions = new Set<string>();
    if (!(error instanceof InvalidInputError)) throw error;
    collectExecutionIds(args, executions);
    if (executions.size === 0) throw error;
    throw new InvalidInputError(
      `${error.message}; an execution was passed where the schema describes a value: a task with input takes values, so pass \`await execution.result()\``,
      error.issues,
    );
  }
}
