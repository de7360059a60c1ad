/** Task options, their validation and the retry policy they define. */
import * as z from "../zod.ts";
import { ErrorCode, FloeError, errorCode } from "../errors.ts";
import { parseSchedule, type ScheduleOption, type ScheduleSpec } from "../schedules/spec.ts";
import { reuseOptions, type CacheOptions, type CacheSpec, type DebounceOptions, type DebounceSpec } from "./reuse-options.ts";

export type { CacheOptions, DebounceOptions } from "./reuse-options.ts";
import { inputSpec, type InputSchema, type InputSpec } from "./input.ts";
import { limitProblems } from "./limit-options.ts";

/** How a failed attempt is retried. */
export interface RetryOptions {
  /** How many retries after the first attempt, 0 to 100. */
  readonly limit: number;
  /**
   * The delay before the first retry, in milliseconds.
   * @default 1000
   */
  readonly delayMs?: number;
  /**
   * `exponential` multiplies the delay by `factor` after each retry; `fixed` keeps it.
   * @default "exponential"
   */
  readonly backoff?: "exponential" | "fixed";
  /**
   * The multiplier of exponential backoff.
   * @default 2
   */
  readonly factor?: number;
  /**
   * The longest delay between attempts, in milliseconds.
   * @default 300000
   */
  readonly maxDelayMs?: number;
  /**
   * Spread each delay randomly over [delay/2, delay] so many failures do not retry in step.
   * @default false
   */
  readonly jitter?: boolean;
  /**
   * Which errors are retried: a list of error names, codes or classes (matched by
   * `instanceof`: a class made by `defineError` also matches its errors from another copy
   * of the bundle), or a predicate. `NonRetriableError` is never retried.
   * @default every error
   */
  readonly retryOn?: readonly (string | ErrorClass)[] | ((error: Error) => boolean);
}

/** An error class, as `retryOn` accepts it. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * At most `limit` executions of the task (per key) running at once. One over the limit
 * waits `queued` with no message sent (no Lambda invoked) and starts when a slot frees.
 */
export interface ConcurrencyOptions {
  /** How many may run at once, 1 to 1000. */
  readonly limit: number;
  /**
   * The key the limit counts by, from the task's arguments: a limit per tenant, per user…
   * Called once per submission; it must return a string (at most 256 characters).
   * @default the whole task
   */
  key?(...args: unknown[]): string;
}

/**
 * At most `limit` starts of the task (per key) in any window of `periodMs`: a sliding
 * window over admitted starts. One over the limit waits `queued`, its message delayed to
 * the first moment the window has room (no Lambda invoked meanwhile).
 */
export interface RateLimitOptions {
  /** How many starts per period, 1 to 1000. */
  readonly limit: number;
  /** The period, in milliseconds: from 1 second to 30 days. */
  readonly periodMs: number;
  /**
   * The key the limit counts by, from the task's arguments; a string (at most 256 characters).
   * @default the whole task
   */
  key?(...args: unknown[]): string;
}

/** Which execution arguments must finish before the task starts. */
export type WaitOption = boolean | readonly (number | string)[] | string;

/** Options of `task()` and `workflow()`. */
export interface TaskOptions {
  /**
   * Delay the start until the executions passed as arguments have finished: `true` for
   * all, or a subset named by argument positions (`[0, 2]`) or by the property names of a
   * single object argument (`["user", "product"]` or `"user,product"`).
   * @default false
   */
  readonly wait?: WaitOption;
  /**
   * Retries after a failed attempt: a number (the limit, with the default backoff) or
   * {@link RetryOptions}.
   * @default 0
   */
  readonly retries?: number | RetryOptions;
  /**
   * Fail an attempt that runs longer than this many milliseconds with `FLOE_TIMEOUT`.
   * @default no limit
   */
  readonly timeoutMs?: number;
  /**
   * For short tasks their caller awaits at once (`await inc(x)` inside a task): the call
   * runs the task's code in the caller's worker, as an execution of its own (its own
   * record, attempts and timeline bar), with no queue hop and no second Lambda invocation:
   * one write a step when it finishes within a second (its record, put once, completed),
   * two when it runs longer (written `running` first, so the run shows it), where a queued
   * call costs its messages, its claim and the caller's re-run. The code then runs with the
   * caller's function's timeout, memory and permissions, not its own. Submitted any other
   * way (`.submit()`, `.map()`, at top level, with executions among its arguments) it runs
   * on its own queue as usual, and so does a retry after a failed inline attempt.
   * @default false
   */
  readonly inline?: boolean;
  /**
   * Workflows only: start a run at each tick, `{ cron, timezone }` or `{ every: "15 minutes" }`.
   * The function receives `{ scheduledAt: Date }`; one run per tick, however often it fires.
   * @default not scheduled
   */
  readonly schedule?: ScheduleOption;
  /**
   * Calls with one key within `periodMs` of each other become one execution, run with the
   * last call's arguments once `periodMs` has passed since the last call (a trailing
   * window, capped by `maxWaitMs`); every caller's `Execution` resolves to that execution.
   * Each call is an execution of its caller's run; the window is the task's and key's across
   * every run.
   * @default not debounced
   */
  readonly debounce?: DebounceOptions;
  /**
   * Reuse a completed result of the same task and arguments (or `key`) for `ttlMs` after it
   * finished: the call's execution is completed at once with it, marked `cachedFrom` the
   * execution that computed it. Failures are not cached. `true` keeps results for a day.
   * @default not cached
   */
  readonly cache?: boolean | CacheOptions;
  /**
   * One execution per identical call (same task, same encoded arguments) within a run: a
   * second call anywhere in the run gets the first call's `Execution`.
   * @default false
   */
  readonly memo?: boolean;
  /**
   * The arguments' schema, any Standard Schema (zod, valibot, arktype…): one schema of the
   * single argument, or a list of schemas, one per argument. It types the function's
   * parameters (the schemas' outputs) and what callers pass (their inputs); arguments are
   * validated at every submit and at the HTTP API, and refused with `FLOE_INVALID_INPUT`
   * naming each field, before anything is written. The task receives the schema's output
   * (defaults, transforms). The schema must validate synchronously.
   * @default no validation
   */
  readonly input?: InputSchema;
  /**
   * Where the task's code runs on the embedded engine: `"worker"` runs it on a worker
   * thread of the engine's pool (`createEngine({ workers })`, `floe run --workers N`), for
   * CPU-bound work that would otherwise hold the one thread every other task and the
   * orchestration share. Arguments and results cross the thread through floe's codec, and
   * the code may not submit, call or await executions, `sleep` or create externals there.
   * On an engine without `workers` it runs on the main thread. On the local cloud and AWS
   * every task is already a Lambda function of its own, so the option changes nothing there.
   * @default "main"
   */
  readonly runner?: Runner;
  /**
   * At most `limit` executions running at once, for the whole task or per `key`:
   * `{ limit: 5, key: (req) => req.tenant }`. Slots are freed by completion, failure,
   * cancellation, dead-lettering, a suspension and a sleep.
   * @default no limit
   */
  readonly concurrency?: ConcurrencyOptions;
  /**
   * At most `limit` starts per `periodMs`, for the whole task or per `key`:
   * `{ limit: 100, periodMs: 60_000 }`. Each attempt is a start.
   * @default no limit
   */
  readonly rateLimit?: RateLimitOptions;
}

/** Where a task's code runs on the embedded engine (see {@link TaskOptions.runner}). */
export const Runner = { Main: "main", Worker: "worker" } as const;
export type Runner = (typeof Runner)[keyof typeof Runner];

/** Which arguments to wait for, normalised. */
export type WaitSpec =
  | { readonly type: "none" }
  | { readonly type: "all" }
  | { readonly type: "positions"; readonly positions: readonly number[] }
  | { readonly type: "properties"; readonly names: readonly string[] };

/** The normalised retry policy. */
export interface RetryPolicy {
  readonly limit: number;
  readonly delayMs: number;
  readonly backoff: "exponential" | "fixed";
  readonly factor: number;
  readonly maxDelayMs: number;
  readonly jitter: boolean;
  readonly retryOn: ((error: Error) => boolean) | undefined;
}

/** Options after validation. */
export interface NormalizedOptions {
  readonly wait: WaitSpec;
  readonly retries: RetryPolicy;
  readonly timeoutMs: number | undefined;
  readonly inline: boolean;
  readonly schedule: ScheduleSpec | undefined;
  readonly debounce?: DebounceSpec | undefined;
  readonly cache?: CacheSpec | undefined;
  readonly memo?: boolean;
  readonly input: InputSpec | undefined;
  readonly runner: Runner;
  readonly concurrency: ConcurrencyOptions | undefined;
  readonly rateLimit: RateLimitOptions | undefined;
}

const maxTimer = 2 ** 31 - 1;
const ms = (name: string) =>
  z
    .number({ error: `${name} must be a number of milliseconds` })
    .check(
      z.int({ error: `${name} must be a whole number of milliseconds` }),
      z.minimum(0, { error: `${name} must be at least 0` }),
      z.maximum(maxTimer, { error: `${name} must be at most ${maxTimer}` }),
    );
const limit = z
  .number({ error: "retries must be a number" })
  .check(
    z.int({ error: "retries must be a whole number" }),
    z.minimum(0, { error: "retries must be between 0 and 100" }),
    z.maximum(100, { error: "retries must be between 0 and 100" }),
  );

const retrySchema = z.strictObject({
  limit,
  delayMs: z.optional(ms("retries.delayMs")),
  backoff: z.optional(z.enum(["exponential", "fixed"], { error: 'retries.backoff must be "exponential" or "fixed"' })),
  factor: z.optional(
    z.number().check(z.minimum(1, { error: "retries.factor must be at least 1" }), z.maximum(10, { error: "retries.factor must be at most 10" })),
  ),
  maxDelayMs: z.optional(ms("retries.maxDelayMs")),
  jitter: z.optional(z.boolean({ error: "retries.jitter must be true or false" })),
  retryOn: z.optional(
    z.union(
      [
        z.array(z.union([z.string().check(z.minLength(1)), z.custom<ErrorClass>((v) => typeof v === "function" && typeof (v as { prototype?: unknown }).prototype === "object")])),
        z.custom<(e: Error) => boolean>((v) => typeof v === "function"),
      ],
      { error: "retries.retryOn must be a list of error names, codes or classes, or a function of the error" },
    ),
  ),
});

const waitMessage =
  'wait must be true, argument positions such as [0, 1], or property names such as ["user", "product"] or "user,product"';
const waitSchema = z.union(
  [
    z.boolean(),
    z.string().check(z.regex(/^\s*[A-Za-z_$][\w$]*(\s*,\s*[A-Za-z_$][\w$]*)*\s*$/)),
    z.array(z.union([z.number().check(z.int(), z.minimum(0)), z.string().check(z.minLength(1))])).check(z.minLength(1)),
  ],
  { error: waitMessage },
);

const optionsSchema = z.strictObject(
  {
    wait: z.optional(z.unknown()),
    retries: z.optional(z.unknown()),
    timeoutMs: z.optional(
      z
        .number({ error: "timeoutMs must be a number of milliseconds" })
        .check(
          z.int({ error: "timeoutMs must be a whole number of milliseconds" }),
          z.minimum(1, { error: "timeoutMs must be at least 1" }),
          z.maximum(maxTimer, { error: `timeoutMs must be at most ${maxTimer}` }),
        ),
    ),
    inline: z.optional(z.boolean({ error: "inline must be true or false" })),
    schedule: z.optional(z.unknown()),
    debounce: z.optional(z.unknown()),
    cache: z.optional(z.unknown()),
    memo: z.optional(z.unknown()),
    input: z.optional(z.unknown()),
    runner: z.optional(z.enum(["main", "worker"], { error: 'runner must be "main" or "worker" (a worker thread of createEngine({ workers }))' })),
    concurrency: z.optional(z.unknown()),
    rateLimit: z.optional(z.unknown()),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown option ${issue.keys.join(", ")}; the options are wait, retries, timeoutMs, inline, schedule, debounce, cache, memo, input, runner, concurrency and rateLimit`
        : "options must be an object",
  },
);

type Issue = { readonly message: string; readonly path: readonly PropertyKey[] };

/** Validates each option with the schema its shape calls for, so messages stay specific. */
function problemsOf(options: unknown): Issue[] {
  const top = optionsSchema.safeParse(options ?? {});
  if (!top.success) return top.error.issues;
  const { wait, retries } = top.data;
  const issues: Issue[] = [];
  const check = (schema: z.ZodMiniType, value: unknown, prefix: string) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) for (const i of parsed.error.issues) issues.push({ message: i.message, path: [prefix, ...i.path] });
  };
  if (wait !== undefined) {
    const parsed = waitSchema.safeParse(wait);
    if (!parsed.success) issues.push({ message: waitMessage, path: ["wait"] });
  }
  issues.push(...limitProblems(top.data));
  if (typeof retries === "number") check(limit, retries, "retries");
  else if (typeof retries === "object" && retries !== null) check(retrySchema, retries, "retries");
  else if (retries !== undefined) {
    issues.push({ message: "retries must be a number or { limit, delayMs, backoff, ... }", path: ["retries"] });
  }
  return issues;
}

/**
 * Validates and normalises task options.
 *
 * @param name - the task's name, for messages
 * @param options - what the user passed
 * @throws FloeError `FLOE_INVALID_OPTION` naming each bad option, the value and the fix
 */
export function normalizeOptions(name: string, options: unknown, kind: "task" | "workflow" = "task"): NormalizedOptions {
  const problems = problemsOf(options).map((issue) => {
    const received = issue.path.length === 0 ? undefined : valueAt(options, issue.path);
    return `${issue.message}${received === undefined ? "" : `, got ${show(received)}`}`;
  });
  if (problems.length > 0) {
    throw new FloeError(ErrorCode.InvalidOption, `invalid options for task "${name}": ${problems.join("; ")}`);
  }
  const { wait, retries, timeoutMs, inline, schedule, debounce, cache, memo, input, runner, concurrency, rateLimit } = options as TaskOptions | undefined ?? {};
  const reuse = reuseOptions({ name, kind, inline: inline === true, schedule: schedule !== undefined }, { debounce, cache, memo });
  return {
    ...reuse,
    wait: waitSpec(name, wait),
    retries: retryPolicy(retries),
    timeoutMs,
    inline: inline === true,
    schedule: schedule === undefined ? undefined : parseSchedule(name, schedule),
    input: inputSpec(name, input),
    runner: runner ?? Runner.Main,
    concurrency,
    rateLimit,
  };
}

function waitSpec(name: string, wait: WaitOption | undefined): WaitSpec {
  if (wait === undefined || wait === false) return { type: "none" };
  if (wait === true) return { type: "all" };
  const items = typeof wait === "string" ? wait.split(",").map((s) => s.trim()) : wait;
  if (items.every((i) => typeof i === "number")) return { type: "positions", positions: items };
  if (items.every((i) => typeof i === "string")) return { type: "properties", names: items };
  throw new FloeError(
    ErrorCode.InvalidOption,
    `invalid options for task "${name}": wait mixes positions and property names (${show(wait)}); use one kind`,
  );
}

function retryPolicy(retries: RetryOptions | number | undefined): RetryPolicy {
  const r = typeof retries === "number" ? { limit: retries } : (retries ?? { limit: 0 });
  const retryOn = r.retryOn;
  return {
    limit: r.limit,
    delayMs: r.delayMs ?? 1000,
    backoff: r.backoff ?? "exponential",
    factor: r.factor ?? 2,
    maxDelayMs: r.maxDelayMs ?? 300_000,
    jitter: r.jitter ?? false,
    retryOn:
      retryOn === undefined
        ? undefined
        : typeof retryOn === "function"
          ? retryOn
          : (e: Error) => retryOn.some((kind) => (typeof kind === "string" ? kind === e.name || kind === errorCode(e) : e instanceof kind)),
  };
}

const neverRetried: ReadonlySet<string> = new Set([
  ErrorCode.NonRetriable,
  ErrorCode.NotSerializable,
  ErrorCode.UnknownTask,
  ErrorCode.Cancelled,
  ErrorCode.ForeignExecution,
  ErrorCode.InvalidOption,
  ErrorCode.DeadLettered,
  ErrorCode.PayloadTooLarge,
  ErrorCode.ForwardCycle,
  ErrorCode.WaitCycle,
  // Arguments the schema refused at an attempt's start (a schema changed since the submit).
  ErrorCode.InvalidInput,
]);

/**
 * The delay before the next attempt, or `undefined` when `error` ends the execution.
 *
 * @param policy - the task's retry policy
 * @param error - what the attempt threw
 * @param attempt - the attempt that failed, 1-based
 */
export function retryDelay(policy: RetryPolicy, error: unknown, attempt: number): number | undefined {
  if (attempt > policy.limit) return undefined;
  const code = errorCode(error);
  if (code !== undefined && neverRetried.has(code)) return undefined;
  const asError = error instanceof Error ? error : new Error(String(error));
  if (policy.retryOn !== undefined && code !== ErrorCode.RetryAfter && !policy.retryOn(asError)) return undefined;
  const explicit = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (code === ErrorCode.RetryAfter && typeof explicit === "number") return Math.min(explicit, maxTimer);
  const base = policy.backoff === "fixed" ? policy.delayMs : policy.delayMs * policy.factor ** (attempt - 1);
  const capped = Math.min(base, policy.maxDelayMs);
  return policy.jitter ? capped / 2 + Math.random() * (capped / 2) : capped;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  return value;
}

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
