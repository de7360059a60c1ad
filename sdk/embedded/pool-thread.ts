/**
 * The worker thread's side of the embedded engine's pool (`createEngine({ workers })`):
 * imports the worker module, which defines the tasks in this thread's own registry, and
 * runs one attempt of a `runner: "worker"` task at a time. Arguments, results and errors
 * cross as floe's codec writes them, and each log line goes back on the attempt's port,
 * before its outcome, so the main thread keeps it with the execution in order.
 *
 * Only the task's code runs here: the engine, the store, submissions and waits stay on
 * the main thread. So the code may not submit, call or await executions, `sleep` or
 * create externals here; each refuses with an error naming the fix.
 */
import type { MessagePort } from "node:worker_threads";
import { decode, encode, encodeError, type ReferenceCodec } from "../codec/codec.ts";
import { lookup, type TaskDefinition } from "../define/registry.ts";
import type { Outcome } from "../engine/execution-engine.ts";
import type { ExecutionRecord } from "../engine/model.ts";
import { ErrorCode, FloeError, errorCode } from "../errors.ts";
import { captureConsole, type LogHost } from "../logs/log.ts";
import { LogLevel, type TaggedLine } from "../logs/log-line.ts";
import type { LogSink } from "../logs/execution-logs.ts";
import { ExecutionContext, runInContext } from "../runtime/context.ts";
import { Execution, isExecution, type ExecutionHost } from "../runtime/execution.ts";

/** One attempt handed to a worker thread. */
export interface PoolRequest {
  /** The worker module's file URL. */
  readonly module: string;
  /** The execution, as claimed on the main thread: its ids, task and attempt. */
  readonly record: Pick<ExecutionRecord, "id" | "runId" | "taskName" | "attempt">;
  /** The arguments, encoded. */
  readonly args: string;
  /** Where the log lines and then the outcome go. */
  readonly port: MessagePort;
}

/** What a worker thread posts on the attempt's port. */
export type PoolMessage =
  | { readonly type: "log"; readonly level: LogLevel; readonly message: string; readonly fields?: Readonly<Record<string, unknown>> }
  | { readonly type: "completed"; readonly result: string; readonly threadId: number }
  | { readonly type: "failed"; readonly error: string; readonly threadId: number }
  /** The thread could not load floe itself (`pool-worker.mjs`): tsx missing, say. */
  | { readonly type: "unloadable"; readonly message: string; readonly threadId: number };

let loaded: { readonly module: string; readonly done: Promise<void> } | undefined;

/**
 * Imports the worker module once per thread; a failed import fails every attempt sent to
 * this thread with the reason, since the thread's registry will never hold the tasks.
 */
function loadModule(module: string): Promise<void> {
  if (loaded?.module === module) return loaded.done;
  const done = import(module).then(
    () => undefined,
    (error: unknown) => {
      throw new FloeError(
        ErrorCode.InvalidOption,
        `the worker module ${module} could not be loaded on a worker thread (${(error as Error)?.message ?? String(error)}); ` +
          "give workers.module a module that imports without error, such as the one that defines the tasks",
        { cause: error },
      );
    },
  );
  loaded = { module, done };
  return done;
}

/**
 * Runs one attempt of `request` on this thread and posts its outcome on its port; never
 * rejects, since the outcome travels on the port, after the lines it logged.
 */
export async function runAttempt(request: PoolRequest, threadId: number): Promise<void> {
  const { port } = request;
  let outcome: PoolMessage;
  try {
    await loadModule(request.module);
    const definition = workerDefinition(request.record.taskName, request.module);
    const context = new ThreadContext(new ThreadHost(port), request.record);
    const args = decode(request.args, threadRefs) as unknown[];
    const value: unknown = await runInContext(context, definition.fn, args);
    outcome = { type: "completed", result: encode(value, "result", threadRefs).text, threadId };
  } catch (error) {
    outcome = { type: "failed", error: encodeError(error), threadId };
  }
  port.postMessage(outcome);
  port.close();
}

function workerDefinition(name: string, module: string): TaskDefinition {
  try {
    return lookup(name);
  } catch (error) {
    if (errorCode(error) !== ErrorCode.UnknownTask) throw error;
    throw new FloeError(
      ErrorCode.InvalidOption,
      `task "${name}" is marked runner: "worker", but the worker module ${module} does not define it; ` +
        `import the module that defines "${name}" from ${module}, or name that module in workers.module (floe run: the module being run)`,
    );
  }
}

/** The refusal of what only the main thread can do. */
function mainThreadOnly(what: string, taskName: string): FloeError {
  return new FloeError(
    ErrorCode.InvalidOption,
    `"${taskName}" runs on a worker thread (runner: "worker"), where it cannot ${what}: the engine lives on the main thread. ` +
      "Return the data and let the workflow that called the task submit or await what comes next, " +
      'or remove runner: "worker" from the task',
  );
}

/** An execution passed to a worker task: its id is kept, but it cannot be awaited here. */
const refusingHost: ExecutionHost = {
  result: (execution) => Promise.reject(awaitRefused(execution.id)),
  state: (execution) => Promise.reject(awaitRefused(execution.id)),
  cancel: (execution) => Promise.reject(awaitRefused(execution.id)),
};

function awaitRefused(id: string): FloeError {
  return new FloeError(
    ErrorCode.InvalidOption,
    `execution ${id} was passed to a task running on a worker thread (runner: "worker"), which cannot read or cancel it: ` +
      "give the task { wait: true } so it receives the execution's result instead, or run it on the main thread",
  );
}

const threadRefs: ReferenceCodec = {
  idOf: (value) => (isExecution(value) ? value.id : undefined),
  revive: (id) => new Execution(id, refusingHost, Promise.resolve()),
};

/**
 * What the task's code finds as its engine (`context.runtime`): the log host whose sink
 * posts each line to the main thread, and refusals of everything else an engine does.
 */
class ThreadHost implements LogHost {
  readonly logSink: LogSink;
  /** The main thread prints the line, if its engine prints lines, when it keeps it. */
  readonly echoLogs = false;

  constructor(port: MessagePort) {
    this.logSink = {
      write: (line: TaggedLine) => {
        const message: PoolMessage = { type: "log", level: line.level, message: line.message, ...(line.fields === undefined ? {} : { fields: line.fields }) };
        port.postMessage(message);
      },
    };
  }

  submitWithin(context: ExecutionContext | undefined, definition: TaskDefinition): never {
    throw mainThreadOnly(`submit or call "${definition.name}"`, context?.record.taskName ?? definition.name);
  }

  call(context: ExecutionContext | undefined, definition: TaskDefinition): never {
    throw mainThreadOnly(`call "${definition.name}"`, context?.record.taskName ?? definition.name);
  }

  sleep(context: ExecutionContext): never {
    throw mainThreadOnly("sleep() (a durable sleep suspends the execution)", context.record.taskName);
  }

  external(context: ExecutionContext): never {
    throw mainThreadOnly("create an external execution", context.record.taskName);
  }
}

/** The attempt as the task's code sees it here: its ids for `taskContext()` and log tags. */
class ThreadContext extends ExecutionContext {
  constructor(host: ThreadHost, record: PoolRequest["record"]) {
    super(host, record as ExecutionRecord, false);
  }

  /** The main thread settles the attempt from the outcome posted on the port. */
  protected settled(_outcome: Outcome): void {}

  override requestSuspend(): void {
    throw mainThreadOnly("wait for executions", this.record.taskName);
  }

  override requestSleep(): void {
    throw mainThreadOnly("sleep()", this.record.taskName);
  }
}

// Console lines inside a task are tagged and sent like `log`'s; outside one they print.
captureConsole();
