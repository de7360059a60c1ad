/**
 * `#engines` everywhere but in a bundle built with the `floe-aws` condition (see
 * `engines-aws.ts`): the embedded engine, and the AWS adapters loaded only when a connected
 * function first needs them, so that importing floe never loads the AWS SDK.
 */
import type { AwsPorts } from "../aws/aws-runtime.ts";
import type { Environment } from "../aws/environment.ts";

export { createEngine, createEmbeddedRuntime, type EngineOptions } from "../embedded/embedded-engine.ts";

/** Loads the AWS adapters, and makes those of a connected function. */
export async function loadAwsPorts(env: Environment): Promise<AwsPorts> {
  return (await import("../aws/aws-runtime.ts")).createAwsPorts(env);
}
