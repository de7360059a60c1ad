/**
 * One Lambda function run as Lambda runs it: each execution environment is a Node process
 * of its own, forked on the bootstrap with only the function's environment, its code in a
 * read-only folder. An environment serves one invocation at a time; concurrent invocations
 * get environments of their own, up to the function's limit, and wait for one beyond it.
 * An invocation that runs past the function's timeout, or whose process dies, ends its
 * environment (the next invocation starts a fresh one), as in Lambda.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { ErrorJson, InvokeMessage, ReplyMessage } from "./lambda-bootstrap.ts";

/** What a function runs and with what. */
export interface FunctionSpec {
  /** The template's logical id. */
  readonly logicalId: string;
  /** Its physical name (`AWS_LAMBDA_FUNCTION_NAME`). */
  readonly name: string;
  readonly arn: string;
  /** The read-only folder holding the function's code (Lambda's `/var/task`). */
  readonly taskRoot: string;
  /** The bootstrap file (in Lambda's `/var/runtime`). */
  readonly bootstrap: string;
  /** The whole environment of its processes. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  /** The most environments at once. */
  readonly concurrency: number;
}

/** Faults a test injects into invocations. */
export interface InvocationFaults {
  /**
   * Called before each invocation; `true` kills its process first, as a crash (out of
   * memory, a runtime error) does in Lambda: the invocation fails.
   */
  readonly crash?: (fn: FunctionSpec, event: unknown) => boolean;
}

/** An invocation that failed: the function threw, timed out or its process died. */
export class InvocationError extends Error {
  override name = "InvocationError";
}

interface Environment {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  busy: boolean;
  /** The invocation in process: settled by its reply, or by the process's end. */
  pending?: { readonly id: number; resolve(value: unknown): void; reject(error: Error): void };
}

/** A function's environments and the invocations waiting for one. */
export class LambdaFunction {
  readonly spec: FunctionSpec;
  readonly #faults: InvocationFaults;
  readonly #log: (line: string) => void;
  readonly #environments = new Set<Environment>();
  readonly #queue: { resolve(environment: Environment): void; reject(error: Error): void }[] = [];
  #next = 0;
  #closed = false;
  /** Invocations made, and cold starts (environments created). */
  readonly counts = { invocations: 0, coldStarts: 0 };

  /**
   * @param spec - the function
   * @param faults - crashes to inject
   * @param log - where each line its processes print goes
   */
  constructor(spec: FunctionSpec, faults: InvocationFaults, log: (line: string) => void) {
    this.spec = spec;
    this.#faults = faults;
    this.#log = log;
  }

  /**
   * Invokes the function with `event`.
   * @returns what the handler returned
   * @throws InvocationError when it threw, timed out or its process died
   */
  async invoke(event: unknown): Promise<unknown> {
    if (this.#closed) throw new InvocationError(`function ${this.spec.logicalId} is stopped`);
    this.counts.invocations += 1;
    const environment = await this.#acquire();
    try {
      await environment.ready;
      if (this.#faults.crash?.(this.spec, event) === true) {
        this.#end(environment);
        throw new InvocationError(`function ${this.spec.logicalId} crashed (an injected fault): Runtime exited with error: signal: killed`);
      }
      return await this.#run(environment, event);
    } finally {
      this.#release(environment);
    }
  }

  /** Stops every environment. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiting of this.#queue.splice(0)) waiting.reject(new InvocationError(`function ${this.spec.logicalId} is stopped`));
    const exits = [...this.#environments].map(
      (environment) => new Promise<void>((resolve) => {
        if (environment.child.exitCode !== null || environment.child.signalCode !== null) resolve();
        else environment.child.once("exit", () => resolve());
        environment.child.kill("SIGKILL");
      }),
    );
    this.#environments.clear();
    await Promise.all(exits);
  }

  #run(environment: Environment, event: unknown): Promise<unknown> {
    const id = (this.#next += 1);
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda ends the environment of an invocation that times out.
        this.#end(environment);
        settle(() => reject(new InvocationError(`Task timed out after ${this.spec.timeoutSeconds}.00 seconds`)));
      }, timeoutMs);
      const settle = (done: () => void) => {
        clearTimeout(timer);
        environment.pending = undefined;
        done();
      };
      environment.pending = {
        id,
        resolve: (value) => settle(() => resolve(value)),
        reject: (error) => settle(() => reject(error)),
      };
      const message: InvokeMessage = { id, event, deadline: Date.now() + timeoutMs, arn: this.spec.arn };
      try {
        environment.child.send(message);
      } catch (error) {
        // The process died since it was picked: the invocation fails as a crash does.
        environment.pending.reject(new InvocationError(`function ${this.spec.logicalId}'s process is gone: ${(error as Error).message}`));
      }
    });
  }

  /** Kills an environment, which no invocation may pick from now on (its exit is reported later). */
  #end(environment: Environment): void {
    this.#environments.delete(environment);
    environment.child.kill("SIGKILL");
  }

  async #acquire(): Promise<Environment> {
    for (const environment of this.#environments) {
      if (!environment.busy) {
        environment.busy = true;
        return environment;
      }
    }
    if (this.#environments.size < this.spec.concurrency) {
      const environment = this.#start();
      environment.busy = true;
      return environment;
    }
    return new Promise((resolve, reject) => this.#queue.push({ resolve, reject }));
  }

  #release(environment: Environment): void {
    const alive = this.#environments.has(environment);
    const next = this.#queue.shift();
    if (next === undefined) {
      environment.busy = false;
      return;
    }
    // A dead environment's turn goes to a fresh one.
    next.resolve(alive ? environment : this.#startBusy());
  }

  #startBusy(): Environment {
    const environment = this.#start();
    environment.busy = true;
    return environment;
  }

  #start(): Environment {
    this.counts.coldStarts += 1;
    const child = fork(this.spec.bootstrap, [], {
      cwd: this.spec.taskRoot,
      env: { ...this.spec.environment },
      // Plain Node, as in Lambda: none of the host's flags or loaders (tsx, a test runner's).
      execArgv: [],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on("line", (line) => this.#log(line));
    }
    let ready!: () => void;
    let failed!: (error: Error) => void;
    const environment: Environment = {
      child,
      busy: false,
      ready: new Promise<void>((resolve, reject) => {
        ready = resolve;
        failed = reject;
      }),
    };
    // Awaited by each invocation; a failed start must not also be an unhandled rejection.
    environment.ready.catch(() => undefined);
    this.#environments.add(environment);
    child.on("message", (message: ReplyMessage) => {
      if (message.type === "ready") ready();
      else if (message.type === "init-error") failed(new InvocationError(`function ${this.spec.logicalId} failed to start: ${show(message.error)}`));
      else if (environment.pending?.id === message.id) {
        if (message.type === "result") environment.pending.resolve(message.result);
        else environment.pending.reject(new InvocationError(show(message.error)));
      }
    });
    child.on("exit", (code, signal) => {
      this.#environments.delete(environment);
      const error = new InvocationError(`function ${this.spec.logicalId}'s process exited (${signal ?? `code ${String(code)}`}): Runtime exited`);
      failed(error);
      environment.pending?.reject(error);
    });
    child.on("error", (error) => this.#log(`process error: ${error.message}`));
    return environment;
  }
}

function show(error: ErrorJson): string {
  return `${error.errorType}: ${error.errorMessage}`;
}
