/**
 * The default engine: where a task called or submitted outside any task runs. It is chosen
 * at the first such call, never at import, so importing floe registers nothing:
 *
 * - a function connected to an orchestrator (its table, bucket and queue prefix set, as
 *   `orchestrator.connect(fn)` does) submits to the deployed orchestrator;
 * - a Lambda function that is not connected throws `FLOE_NOT_CONNECTED` naming the fix,
 *   rather than run its tasks in its own memory unseen by the orchestrator;
 * - anywhere else the embedded engine runs them, with no configuration.
 *
 * `#engines` gives the embedded engine, except in a bundle built with the `floe-aws`
 * condition (floe's Lambda handlers, a connected function), which leaves it out.
 */
import { createEmbeddedRuntime, loadAwsPorts } from "#engines";
import { EnvironmentVariable as V } from "../aws/contract.ts";
import { readEnvironment, type Environment } from "../aws/environment.ts";
import type { TaskDefinition } from "../define/registry.ts";
import { ErrorCode, FloeError } from "../errors.ts";
import { currentContext, type ExecutionContext } from "../runtime/context.ts";
import type { Execution } from "../runtime/execution.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { StartDelay } from "../runtime/start-delay.ts";
import { createConnectedRuntime } from "./connected.ts";

let instance: Runtime | undefined;

/**
 * Submits `definition(...args)` from wherever the caller is: as a child of the running
 * task, on its engine, or as a new run on the default engine.
 * @throws FloeError `FLOE_NOT_CONNECTED` at top level in a Lambda function not connected to an orchestrator
 */
export function submitHere(definition: TaskDefinition, args: unknown[], delay?: StartDelay): Execution<unknown> {
  // One lookup of the context for both questions: it is a walk of async hooks' state.
  const context = currentContext();
  return runtimeOf(context, definition).submitWithin(context, definition, args, delay);
}

/**
 * Calls `definition(...args)` from wherever the caller is and waits for its result: an
 * `inline` task called inside a task runs in the caller's attempt (see `Runtime.call`).
 * @throws FloeError `FLOE_NOT_CONNECTED` at top level in a Lambda function not connected to an orchestrator
 */
export function callHere(definition: TaskDefinition, args: unknown[]): Promise<unknown> {
  const context = currentContext();
  return runtimeOf(context, definition).call(context, definition, args);
}

/** The engine of the running task, or the default engine outside any task. */
function runtimeOf(context: ExecutionContext | undefined, definition: TaskDefinition): Runtime {
  if (context !== undefined) return context.runtime as Runtime;
  if (instance === undefined || instance.closed) instance = defaultRuntime(process.env, definition.name);
  return instance;
}

const connection = [V.TableName, V.BucketName, V.QueueUrlPrefix] as const;

/**
 * Chooses the default engine from the environment (see the file comment).
 * @param env - the process's environment
 * @param taskName - what is being submitted, for the error
 * @throws FloeError `FLOE_NOT_CONNECTED` in an unconnected Lambda function, or when the connection is incomplete
 */
export function defaultRuntime(env: Record<string, string | undefined>, taskName: string): Runtime {
  if (connection.some((name) => env[name] !== undefined)) {
    let settings: Environment;
    try {
      settings = readEnvironment(env);
    } catch (error) {
      throw new FloeError(
        ErrorCode.NotConnected,
        `"${taskName}" was submitted from a function whose connection to a floe orchestrator is incomplete ` +
          `(${(error as Error).message}); connect it with orchestrator.connect(fn), which sets ${connection.join(", ")} and grants access`,
        { cause: error },
      );
    }
    return createConnectedRuntime(settings, () => loadAwsPorts(settings));
  }
  const lambda = env.AWS_LAMBDA_FUNCTION_NAME;
  if (lambda !== undefined) {
    throw new FloeError(
      ErrorCode.NotConnected,
      `"${taskName}" was submitted at top level in the Lambda function "${lambda}", which is not connected to a floe ` +
        `orchestrator (${connection.join(", ")} are not set), so it has nowhere to run: connect the function in your CDK app ` +
        "with orchestrator.connect(fn), which sets them and grants access; or, to run tasks in this function's memory, " +
        'submit them on an engine of your own: createEngine() (in a bundle built without the "floe-aws" condition)',
    );
  }
  return createEmbeddedRuntime();
}
