/** `task()` and `workflow()`: plain async functions that floe can run, submit and map. */
import { ErrorCode, FloeError } from "../errors.ts";
import type { Execution } from "../runtime/execution.ts";
import { normalizeOptions, type TaskOptions } from "../define/options.ts";
import type { InputArguments, InputParameters, InputSchema } from "../define/input.ts";
import { Kind, define, type TaskDefinition } from "../define/registry.ts";
import { callHere, submitHere } from "./default-engine.ts";
import { mapRows, type MapArgs } from "./map-rows.ts";
import { checkStartDelay, type StartDelay } from "../runtime/start-delay.ts";

export { unmapped, type Unmapped, type MapArgs } from "./map-rows.ts";

/** What an execution of a function returning `R` resolves to: a returned execution is followed. */
export type Resolved<R> = Awaited<R> extends Execution<infer T> ? T : Awaited<R>;

/** A task or workflow: call it to run it and wait, or `submit` it to get an {@link Execution}. */
export interface Task<A extends unknown[], R> {
  /**
   * Runs the task and waits for its result: `submit(...args).result()`, except that an
   * `inline` task called inside a task runs in the caller's worker (see `TaskOptions.inline`).
   * @throws the task's error
   */
  (...args: A): Promise<Resolved<R>>;
  /**
   * Starts the task and returns its execution at once, without waiting. Inside a task the
   * execution is a child of the running one; at top level it starts a run on the default
   * engine.
   * @throws FloeError `FLOE_NOT_SERIALIZABLE` naming the path of an argument floe cannot encode
   */
  submit(...args: A): Execution<Resolved<R>>;
  /**
   * Submits one execution per item: iterables are zipped, `unmapped()` values passed to
   * every call.
   * @example
   * const stops = stopAtFloor.map([3, 2, 1], unmapped("fast"));
   */
  map(...args: MapArgs<A>): Execution<Resolved<R>>[];
  /**
   * The task with per-call options: `{ delayMs }` or `{ startAt: Date }` delays its start
   * (0 to 30 days ahead). The execution is `queued` with its start time as `notBefore`
   * and holds no slot until then.
   * @throws FloeError `FLOE_INVALID_OPTION` naming a bad delay (at submit: a time in the past or over 30 days ahead)
   * @example
   * remind.with({ delayMs: 86_400_000 }).submit(userId);
   */
  with(options: StartDelay): Submitter<A, R>;
  /** The task's name. */
  readonly name: string;
  /** What floe runs. */
  readonly definition: TaskDefinition;
}

/** A task with per-call options (see `Task.with`): call, `submit` or `map` it as the task. */
export interface Submitter<A extends unknown[], R> {
  (...args: A): Promise<Resolved<R>>;
  submit(...args: A): Execution<Resolved<R>>;
  map(...args: MapArgs<A>): Execution<Resolved<R>>[];
  /** What floe runs. */
  readonly definition: TaskDefinition;
  /** The start delay every submission through it gets. */
  readonly delay: StartDelay;
}

type Fn<A extends unknown[], R> = (...args: A) => R;

/** Options with an `input` schema: it types the function's parameters and the callers' arguments. */
type TypedOptions<S extends InputSchema> = Omit<TaskOptions, "input"> & { readonly input: S };
/** Options without one: the function's own parameters type the task (a schema never goes unchecked against them). */
type UntypedOptions = Omit<TaskOptions, "input"> & { readonly input?: undefined };

/**
 * Defines a task.
 *
 * @param name - unique; 1 to 64 letters, digits, `_` or `-`
 * @param options - `wait`, `retries`, `timeoutMs`, `inline`, `input` (optional)
 * @param fn - the code, an async function of serialisable arguments
 * @throws FloeError `FLOE_DUPLICATE_TASK` or `FLOE_INVALID_OPTION`
 * @example
 * export const loadUser = task("load_user", async (id: string) => db.users.get(id));
 * export const createOrder = task("create_order", { wait: true, retries: 3 }, async (user, product) => ...);
 * export const signUp = task("sign_up", { input: z.object({ email: z.email() }) }, async ({ email }) => ...);
 */
export function task<const S extends InputSchema, R>(name: string, options: TypedOptions<S>, fn: Fn<InputParameters<S>, R>): Task<InputArguments<S>, R>;
export function task<A extends unknown[], R>(name: string, fn: Fn<A, R>): Task<A, R>;
export function task<A extends unknown[], R>(name: string, options: UntypedOptions, fn: Fn<A, R>): Task<A, R>;
export function task<A extends unknown[], R>(name: string, a: TaskOptions | Fn<A, R>, b?: Fn<A, R>): Task<A, R> {
  return make(Kind.Task, name, a, b);
}

/**
 * Defines a workflow: a task that is the entry point of a run (and of the HTTP API).
 *
 * @example
 * export const processOrder = workflow("process_order", async (userId: string, productId: string) => {
 *   const user = loadUser.submit(userId);
 *   const product = loadProduct.submit(productId);
 *   return createOrder.submit(user, product);
 * });
 */
export function workflow<const S extends InputSchema, R>(name: string, options: TypedOptions<S>, fn: Fn<InputParameters<S>, R>): Task<InputArguments<S>, R>;
export function workflow<A extends unknown[], R>(name: string, fn: Fn<A, R>): Task<A, R>;
export function workflow<A extends unknown[], R>(name: string, options: UntypedOptions, fn: Fn<A, R>): Task<A, R>;
export function workflow<A extends unknown[], R>(name: string, a: TaskOptions | Fn<A, R>, b?: Fn<A, R>): Task<A, R> {
  return make(Kind.Workflow, name, a, b);
}

function make<A extends unknown[], R>(kind: Kind, name: string, a: TaskOptions | Fn<A, R>, b?: Fn<A, R>): Task<A, R> {
  const fn = typeof a === "function" ? a : b;
  const options = typeof a === "function" ? undefined : a;
  if (typeof fn !== "function") {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `${kind} "${name}" needs a function: ${kind}(name, fn) or ${kind}(name, options, fn)`,
    );
  }
  if (typeof a === "function" && b !== undefined) {
    throw new FloeError(ErrorCode.InvalidOption, `${kind} "${name}": pass options before the function, not after it`);
  }
  if (kind === Kind.Task && options?.schedule !== undefined) {
    throw new FloeError(ErrorCode.InvalidOption, `task "${name}" has a schedule; only workflows run on a schedule, so define it with workflow()`);
  }
  const definition: TaskDefinition = { name, kind, fn: fn as (...args: any[]) => unknown, options: normalizeOptions(name, options, kind) };
  define(definition);
  const submit = (...args: A) => submitHere(definition, args) as Execution<Resolved<R>>;
  // Exactly submit(...args).result(), but an inline task called inside a task runs in the caller's attempt.
  const call = (...args: A) => callHere(definition, args) as Promise<Resolved<R>>;
  return Object.defineProperties(call, {
    name: { value: name },
    definition: { value: definition, enumerable: true },
    submit: { value: submit, enumerable: true },
    map: { value: (...args: MapArgs<A>) => mapRows(name, args, definition.options.input).map((row) => submit(...(row as A))), enumerable: true },
    with: { value: (options: StartDelay) => delayed<A, R>(definition, checkStartDelay(name, options)), enumerable: true },
  }) as unknown as Task<A, R>;
}

function delayed<A extends unknown[], R>(definition: TaskDefinition, delay: StartDelay): Submitter<A, R> {
  const submit = (...args: A) => submitHere(definition, args, delay) as Execution<Resolved<R>>;
  // A delayed call never runs inline: it waits for its start like any submission.
  const call = (...args: A) => submit(...args).result();
  return Object.assign(call, {
    definition,
    delay,
    submit,
    map: (...args: MapArgs<A>) => mapRows(definition.name, args, definition.options.input).map((row) => submit(...(row as A))),
  });
}
