/** The `Execution` handle: a reference to one execution's eventual result. */
import { REFERENCE_KEY } from "../codec/codec.ts";
import type { ExecutionState } from "../engine/model.ts";

const brand = Symbol.for("floe.execution");

/** What an `Execution` asks of the engine that created it. */
export interface ExecutionHost {
  result(execution: Execution<unknown>, raiseOnFailure: boolean): Promise<unknown>;
  state(execution: Execution<unknown>): Promise<ExecutionState>;
  cancel(execution: Execution<unknown>): Promise<void>;
}

/** Options of {@link Execution.result}. */
export interface ResultOptions {
  /**
   * Throw the task's error (`true`) or return it (`false`).
   * @default true
   */
  readonly raiseOnFailure?: boolean;
}

/**
 * A reference to an execution and, when it finishes, its result: floe's future. Not a
 * thenable, so returning one from a task forwards the reference instead of waiting.
 *
 * @example
 * const user = loadUser.submit("u1");   // returns at once
 * const value = await user.result();    // waits
 */
export class Execution<T> {
  /** The execution's id, stable across retries and re-runs. */
  readonly id: string;
  readonly #host: ExecutionHost;
  /**
   * Settles when the submission's writes are done; rejects if they failed. The submitter
   * marks a rejection handled: it surfaces through result() and the parent's flush.
   */
  readonly created: Promise<unknown>;

  /**
   * @param id - the execution's id
   * @param host - the engine that created it
   * @param created - the submission's writes
   */
  constructor(id: string, host: ExecutionHost, created: Promise<unknown>) {
    this.id = id;
    this.#host = host;
    this.created = created;
  }

  /** The engine that created this execution. */
  get host(): ExecutionHost {
    return this.#host;
  }

  /**
   * Waits for the execution to finish and returns its result, following forwarded
   * executions. Inside a task the wait holds no concurrency slot.
   *
   * @param options - `raiseOnFailure: false` returns the error instead of throwing it
   * @returns the result, or the error when `raiseOnFailure` is false
   * @throws the task's error (name, message, stack, code and cause preserved)
   * @example
   * const order = await createOrder.submit(user, product).result();
   */
  result(): Promise<T>;
  result(options: { readonly raiseOnFailure: false }): Promise<T | Error>;
  result(options?: ResultOptions): Promise<T | Error>;
  result(options?: ResultOptions): Promise<T | Error> {
    return this.#host.result(this, options?.raiseOnFailure ?? true) as Promise<T | Error>;
  }

  /**
   * Reads the execution's current state.
   * @example
   * if ((await execution.state()) === "failed") alert();
   */
  state(): Promise<ExecutionState> {
    return this.#host.state(this);
  }

  /**
   * Cancels the execution and every unfinished execution under it.
   * @example
   * await run.cancel();
   */
  cancel(): Promise<void> {
    return this.#host.cancel(this);
  }

  /** The execution as JSON: a reference by id, as floe's codec writes it. */
  toJSON(): { readonly [REFERENCE_KEY]: string } {
    return { [REFERENCE_KEY]: this.id };
  }

  /** @internal brands executions across copies of this module. */
  get [brand](): true {
    return true;
  }
}

/** True when `value` is an {@link Execution}. */
export function isExecution(value: unknown): value is Execution<unknown> {
  // instanceof answers at once for this copy of the module; the brand, for any other.
  return value instanceof Execution || (typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true);
}
