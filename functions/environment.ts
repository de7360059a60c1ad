/**
 * What the Lambda handlers read from their environment, once per cold start: the table,
 * bucket and queues the CDK construct created, and the module that defines the tasks. The
 * runtime itself is made by `sdk/aws/aws-runtime.ts`, the factory the local cloud uses too.
 */
import { createAwsRuntime, readEnvironment } from "../sdk/aws/aws-runtime.ts";
import type { Runtime } from "../sdk/runtime/runtime.ts";

export { readEnvironment, type Environment } from "../sdk/aws/aws-runtime.ts";

let runtime: Promise<Runtime> | undefined;

/** The runtime of this Lambda, made on first use and kept for the container's life. */
export function runtimeFromEnvironment(): Promise<Runtime> {
  runtime ??= create();
  return runtime;
}

async function create(): Promise<Runtime> {
  const env = readEnvironment();
  // Tasks register themselves when their module is imported.
  if (env.FLOE_TASKS_MODULE !== undefined) await import(env.FLOE_TASKS_MODULE);
  return createAwsRuntime(env);
}

/**
 * A Lambda entry point: the handler `make` builds over the environment's runtime, built
 * on the first event and kept for the container's life.
 */
export function entryPoint<E, R>(make: (runtime: Runtime) => (event: E) => Promise<R>): (event: E) => Promise<R> {
  let built: Promise<(event: E) => Promise<R>> | undefined;
  return async (event) => {
    built ??= runtimeFromEnvironment().then(make);
    return (await built)(event);
  };
}
