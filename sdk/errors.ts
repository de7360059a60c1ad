/**
 * Errors floe throws, and {@link defineError} for a user's own. Each carries a string
 * `code`; recognise errors by `code`, not `instanceof`, because `instanceof` breaks across
 * process boundaries.
 *
 * Each names itself with a string literal, not its class's name, which a minifier renames
 * (`TimeoutError` becomes `ki`, and `retryOn: ["TimeoutError"]` never matches); and each
 * carries a brand under a `Symbol.for` key, so that `instanceof` answers for an error made
 * by another copy of this module (another bundle, a second install) too.
 */

/** The registry-wide key of the brand: the floe classes an error is an instance of, by name. */
const brand = Symbol.for("floe.error");

/**
 * Every code floe gives an error, thrown or answered: one registry, so a user can match on
 * `ErrorCode.X` and a test (`test/unit/error-codes.test.ts`) can refuse a code that is not
 * in it. The first section is thrown by the SDK; the others are answered by the HTTP API
 * and the `floe` command.
 */
export const ErrorCode = {
  InvalidOption: "FLOE_INVALID_OPTION",
  DuplicateTask: "FLOE_DUPLICATE_TASK",
  UnknownTask: "FLOE_UNKNOWN_TASK",
  NotSerializable: "FLOE_NOT_SERIALIZABLE",
  ForeignExecution: "FLOE_FOREIGN_EXECUTION",
  EngineClosed: "FLOE_ENGINE_CLOSED",
  UnknownExecution: "FLOE_UNKNOWN_EXECUTION",
  Timeout: "FLOE_TIMEOUT",
  Cancelled: "FLOE_CANCELLED",
  NonRetriable: "FLOE_NON_RETRIABLE",
  RetryAfter: "FLOE_RETRY_AFTER",
  DeadLettered: "FLOE_DEAD_LETTERED",
  IdempotencyConflict: "FLOE_IDEMPOTENCY_CONFLICT",
  PayloadTooLarge: "FLOE_PAYLOAD_TOO_LARGE",
  ForwardCycle: "FLOE_FORWARD_CYCLE",
  WaitCycle: "FLOE_WAIT_CYCLE",
  NotConnected: "FLOE_NOT_CONNECTED",
  /** Arguments that the task's `input` schema refused. */
  InvalidInput: "FLOE_INVALID_INPUT",
  // Answered by the HTTP API (`sdk/http/routes.ts`) and the `floe dev` server.
  BadRequest: "FLOE_BAD_REQUEST",
  BadJson: "FLOE_BAD_JSON",
  NotFound: "FLOE_NOT_FOUND",
  UnknownRun: "FLOE_UNKNOWN_RUN",
  /** The execution cannot be completed from outside: a task's, or finished already. */
  Conflict: "FLOE_CONFLICT",
  Forbidden: "FLOE_FORBIDDEN",
  ApiUnreachable: "FLOE_API_UNREACHABLE",
  Internal: "FLOE_INTERNAL",
  // Thrown by the `floe` command (`CliError`).
  Cli: "FLOE_CLI",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The base of every error floe throws.
 *
 * @example
 * try { await order.result(); } catch (e) { if ((e as FloeError).code === "FLOE_TIMEOUT") retryLater(); }
 */
export class FloeError extends Error {
  /** A stable, machine-readable code. */
  readonly code: string;

  /**
   * @param code - a stable code, e.g. `FLOE_TIMEOUT`
   * @param message - what went wrong, the value received and the fix
   * @param options - `cause`, the underlying error
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // A user's subclass keeps its own name (right when their bundle keeps names).
    this.name = literalNames.get(new.target) ?? new.target.name;
    this.code = code;
    // Not enumerable: the brand is not data, and neither copies nor encodes with the error.
    Object.defineProperty(this, brand, { value: [...literalNames].filter(([kind]) => this instanceof kind).map(([, name]) => name) });
  }

  /**
   * `instanceof` for floe's own classes also answers `true` for an error branded by another
   * copy of this module; a user's subclass of them answers as usual, by prototype.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const name = literalNames.get(this);
    return name !== undefined && brandOf(value).includes(name);
  }
}

/** The names in `value`'s brand; none for anything else, even a Proxy or getter that throws. */
function brandOf(value: unknown): readonly unknown[] {
  if (typeof value !== "object" || value === null) return [];
  try {
    const names = (value as Record<symbol, unknown>)[brand];
    return Array.isArray(names) ? names : [];
  } catch {
    return [];
  }
}

/**
 * Thrown by a task to fail at once, without using its remaining retries.
 *
 * @example
 * if (!user) throw new NonRetriableError(`user ${id} does not exist`);
 */
export class NonRetriableError extends FloeError {
  /**
   * @param message - why retrying cannot help
   * @param options - `cause`, the underlying error
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.NonRetriable, message, options);
  }
}

/**
 * Thrown by a task to be retried after a given delay (a rate limit's `Retry-After`, say).
 * The retry still counts against the task's `retries.limit`.
 *
 * @example
 * if (res.status === 429) throw new RetryAfterError("rate limited", Number(res.headers.get("retry-after")) * 1000);
 */
export class RetryAfterError extends FloeError {
  /** How long to wait before the next attempt, in milliseconds. */
  readonly retryAfterMs: number;

  /**
   * @param message - what failed
   * @param retryAfter - a delay in milliseconds, or the `Date` to retry at
   * @param options - `cause`, the underlying error
   */
  constructor(message: string, retryAfter: number | Date, options?: { cause?: unknown }) {
    super(ErrorCode.RetryAfter, message, options);
    this.retryAfterMs = retryAfter instanceof Date ? Math.max(0, retryAfter.getTime() - Date.now()) : retryAfter;
  }
}

/** Raised when an attempt runs past its task's `timeoutMs`. */
export class TimeoutError extends FloeError {
  /** @param message - which task and which limit */
  constructor(message: string) {
    super(ErrorCode.Timeout, message);
  }
}

/** What `result()` throws for an execution that was cancelled. */
export class CancelledError extends FloeError {
  /** @param message - which execution */
  constructor(message: string) {
    super(ErrorCode.Cancelled, message);
  }
}

/** One field an `input` schema refused: its path from the argument list (`[0, "email"]`) and the schema's message. */
export interface InputIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * Thrown at submit (and answered as a 400 by the HTTP API) when arguments do not match the
 * task's `input` schema; nothing is written.
 *
 * @example
 * try { signup.submit({ email: "x" }); } catch (e) { if (e instanceof InvalidInputError) console.log(e.issues); }
 */
export class InvalidInputError extends FloeError {
  /** Each refused field, its path starting with the argument's position. */
  readonly issues: readonly InputIssue[];

  /**
   * @param message - the task and each field's path and message
   * @param issues - the refused fields
   */
  constructor(message: string, issues: readonly InputIssue[]) {
    super(ErrorCode.InvalidInput, message);
    this.issues = issues;
  }
}

// After the classes, which it names; read only when an error is made, never at load time.
const literalNames: ReadonlyMap<abstract new (...args: never[]) => unknown, string> = new Map<abstract new (...args: never[]) => unknown, string>([
  [FloeError, "FloeError"],
  [NonRetriableError, "NonRetriableError"],
  [RetryAfterError, "RetryAfterError"],
  [TimeoutError, "TimeoutError"],
  [CancelledError, "CancelledError"],
  [InvalidInputError, "InvalidInputError"],
]);

/** The brand entry of a class made by {@link defineError}: apart from floe's own names. */
const definedKind = (name: string) => `defined:${name}`;

/**
 * A class made by {@link defineError}: an `Error` subclass whose name is `N` whatever a
 * minifier does, and whose `instanceof` recognises its errors made by another copy of it.
 */
export interface DefinedError<N extends string> {
  /**
   * @param message - what went wrong
   * @param options - `cause`, the underlying error
   */
  new (message?: string, options?: { cause?: unknown }): Error & { readonly name: N; readonly code?: string };
  readonly prototype: Error;
  /** `N`, kept through minification: usable in `retryOn` as a string too. */
  readonly name: N;
}

/**
 * Defines an error class of your own that bundling cannot break: its errors are named
 * `name` (a minifier renames classes, and `retryOn: ["PaymentDeclined"]` would then never
 * match), and `instanceof` recognises them across copies of your code (two bundles, two
 * installs) by a brand under a `Symbol.for` key, as floe's own errors are recognised. Two
 * classes defined with the same name recognise each other's errors: the name is the kind.
 * Subclass it as usual; a subclass keeps its own name.
 *
 * @param name - the errors' name: a JavaScript identifier, not one of floe's own error names
 * @param options - `code`, a stable code the errors carry (kept, like the name, when the
 *   error is recorded, and matched by `retryOn` too)
 * @returns the class
 * @throws FloeError `FLOE_INVALID_OPTION` for a name that is not an identifier, or is floe's
 * @example
 * export const PaymentDeclined = defineError("PaymentDeclined");
 * const charge = task("charge", { retries: { limit: 3, retryOn: [PaymentDeclined] } }, async () => {
 *   throw new PaymentDeclined("card declined");
 * });
 */
export function defineError<const N extends string>(name: N, options: { readonly code?: string } = {}): DefinedError<N> {
  if (!/^[A-Za-z_$][\w$]{0,99}$/.test(name) || [...literalNames.values()].includes(name)) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `defineError needs a JavaScript identifier of up to 100 characters that is not the name of one of floe's errors, ` +
        `got ${JSON.stringify(name)}; name your error after what went wrong, e.g. "PaymentDeclined"`,
    );
  }
  const kind = definedKind(name);
  const { code } = options;
  class Defined extends Error {
    constructor(message?: string, init?: { cause?: unknown }) {
      super(message, init);
      this.name = new.target === Defined ? name : new.target.name;
      if (code !== undefined) Object.defineProperty(this, "code", { value: code, enumerable: true, writable: true, configurable: true });
      // Not enumerable: the brand is not data, and neither copies nor encodes with the error.
      Object.defineProperty(this, brand, { value: [kind] });
    }

    static override [Symbol.hasInstance](value: unknown): boolean {
      if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
      return this === Defined && brandOf(value).includes(kind);
    }
  }
  Object.defineProperty(Defined, "name", { value: name });
  return Defined as unknown as DefinedError<N>;
}

/**
 * The error of executions whose results forward to each other in a cycle: none of them has
 * a result, so `result()` and the HTTP API report this instead of following it forever.
 *
 * @param cycle - the ids followed, ending with the first one met again
 */
export function forwardCycle(cycle: readonly string[]): FloeError {
  return new FloeError(
    ErrorCode.ForwardCycle,
    `the result of execution ${cycle[0] ?? ""} is forwarded in a cycle (${abridged(cycle).join(" → ")}): each returned the ` +
      "execution of the next, so none has a result; make one of them return a value",
  );
}

/**
 * The error of a suspended execution found waiting in a cycle: it awaits the result of
 * an execution that (through others, perhaps) awaits its own, so none of them can finish.
 * Its failure releases the others, whose `result()` reports it.
 *
 * @param cycle - the executions in waiting order: each awaits the next, the last the first
 */
export function waitCycle(cycle: readonly { readonly id: string; readonly taskName: string }[]): FloeError {
  const first = cycle[0];
  const name = (e: { readonly id: string; readonly taskName: string } | undefined): string => (e === undefined ? "" : `${e.id} (${e.taskName})`);
  if (cycle.length <= 1) {
    return new FloeError(
      ErrorCode.WaitCycle,
      `execution ${name(first)} awaits its own result, which it can never have; await another execution, or return a value`,
    );
  }
  return new FloeError(
    ErrorCode.WaitCycle,
    `execution ${name(first)} waits in a cycle (${abridged([...cycle, first].map(name)).join(" → ")}): each awaits the result of the next, so none ` +
      "can finish; make one of them stop awaiting the next (pass it a value, or await both from the execution that submitted them)",
  );
}

/** A cycle's steps as a message shows them: up to 10, else the first 5 and the last 4. */
function abridged(steps: readonly string[]): readonly string[] {
  return steps.length <= 10 ? steps : [...steps.slice(0, 5), "…", ...steps.slice(-4)];
}

/** Reads the `code` of anything thrown, or `undefined`; never throws, even for a getter or Proxy that does. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  try {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}
