/**
 * Errors floe throws. Each carries a string `code`; recognise errors by `code`, not
 * `instanceof`, because `instanceof` breaks across bundles and process boundaries.
 */

/** Codes of the errors floe raises itself. */
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
    this.name = new.target.name;
    this.code = code;
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
