/** `external(name, { timeoutMs })`: an execution completed from outside floe. */
import { ErrorCode, FloeError } from "../errors.ts";
import { currentContext } from "./context.ts";
import { Execution, type ExecutionHost } from "./execution.ts";
import type { Runtime } from "./runtime.ts";

/** The shortest timeout of an external execution. */
export const MIN_EXTERNAL_TIMEOUT_MS = 1_000;
/** The longest: 30 days, as the longest delay. */
export const MAX_EXTERNAL_TIMEOUT_MS = 30 * 86_400_000;

const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Options of {@link external}. */
export interface ExternalOptions {
  /** How long it may wait for its completion before it fails with `FLOE_TIMEOUT`: 1 second to 30 days. */
  readonly timeoutMs: number;
}

/**
 * An {@link Execution} completed from outside: over the API (`POST /executions/{id}/complete`,
 * `engine.complete`) or by a POST to its {@link ExternalExecution.callbackUrl}.
 */
export class ExternalExecution<T> extends Execution<T> {
  /**
   * The single-use URL that completes it with no AWS credentials: `POST` a JSON body
   * `{ "result": … }` or `{ "error": { "message": …, "code"?: … } }`. The same on every
   * re-run of the code that made it. Relative (`/callbacks/<token>`) when the engine knows
   * no base URL (`callbackBaseUrl`).
   */
  readonly callbackUrl: string;
  /** The token in {@link callbackUrl}: whoever holds it can complete the execution, once. */
  readonly callbackToken: string;

  /**
   * @param id - the execution's id
   * @param host - the engine that created it
   * @param created - the creation's write
   * @param token - its callback token
   * @param baseUrl - the API's base URL, if known
   */
  constructor(id: string, host: ExecutionHost, created: Promise<unknown>, token: string, baseUrl: string | undefined) {
    super(id, host, created);
    this.callbackToken = token;
    this.callbackUrl = `${(baseUrl ?? "").replace(/\/+$/, "")}/callbacks/${token}`;
  }
}

/**
 * Creates (or, on a re-run of the calling code, finds) an execution that something outside
 * floe completes: a person clicking a link, a webhook, another system. It is an `Execution`
 * like any other: awaited, passed to tasks (with `{ wait: true }` they start once it is
 * completed), raced with `asCompleted`. A value that comes before anyone waits is kept;
 * with none by `timeoutMs` it fails with `FLOE_TIMEOUT`. Its id derives from the caller,
 * the name and how many `external` calls with that name came before, so a re-run gets the
 * same execution and the same callback URL.
 *
 * @param name - what it waits for, named as a task is (a letter, then letters, digits, `_` or `-`)
 * @param options - `timeoutMs`, 1 second to 30 days
 * @throws FloeError `FLOE_INVALID_OPTION` outside a task, for a bad name or timeout
 * @example
 * const approval = external<{ approved: boolean }>("manager_approval", { timeoutMs: 3 * 86_400_000 });
 * await emailManager(approval.callbackUrl);
 * const { approved } = await approval.result();
 */
export function external<T = unknown>(name: string, options: ExternalOptions): ExternalExecution<T> {
  const context = currentContext();
  if (context === undefined) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `external("${String(name)}") works only inside a task or workflow; call it in the code that waits for the outside completion`,
    );
  }
  const timeoutMs = checkExternal(name, options);
  return (context.runtime as Runtime).external(context, name, timeoutMs) as ExternalExecution<T>;
}

/**
 * Checks `external()`'s arguments; answers the timeout.
 * @throws FloeError `FLOE_INVALID_OPTION` naming the value and the fix
 */
export function checkExternal(name: unknown, options: unknown): number {
  if (typeof name !== "string" || !namePattern.test(name)) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `external(${JSON.stringify(name) ?? String(name)}): the name must start with a letter and hold only letters, digits, "_" or "-" (at most 64 characters), as a task's`,
    );
  }
  const timeoutMs = (options as { timeoutMs?: unknown } | undefined)?.timeoutMs;
  if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < MIN_EXTERNAL_TIMEOUT_MS || timeoutMs > MAX_EXTERNAL_TIMEOUT_MS) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `external("${name}", { timeoutMs: ${String(timeoutMs)} }): timeoutMs is required, a whole number of milliseconds from ` +
        `${MIN_EXTERNAL_TIMEOUT_MS} (1 second) to ${MAX_EXTERNAL_TIMEOUT_MS} (30 days), such as { timeoutMs: 3 * 86_400_000 }`,
    );
  }
  return timeoutMs;
}
