/**
 * `#engines` in a bundle built with the `floe-aws` condition (floe's Lambda handlers, and a
 * function connected to an orchestrator bundled as the README says): the embedded engine
 * left out, its exports kept, each saying why it is missing; the AWS adapters imported
 * statically, so the bundler keeps only what is used of the AWS SDK (a dynamic import
 * would keep every command of every client).
 */
import { createAwsPorts, type AwsPorts } from "../aws/aws-runtime.ts";
import type { Environment } from "../aws/environment.ts";
import type { EmbeddedEngine as Embedded, EngineOptions as Options } from "../embedded/embedded-engine.ts";
import type { Engine } from "./engine.ts";
import { ErrorCode, FloeError } from "../errors.ts";

/** Makes the AWS adapters of a connected function. */
export function loadAwsPorts(env: Environment): Promise<AwsPorts> {
  return Promise.resolve(createAwsPorts(env));
}

/** See `sdk/embedded/embedded-engine.ts`. */
export type EngineOptions = Options;

/**
 * Left out of this bundle.
 * @throws FloeError `FLOE_NOT_CONNECTED`, naming the fix
 */
export function createEngine(_options?: Options): Engine {
  throw leftOut();
}

/**
 * Left out of this bundle.
 * @throws FloeError `FLOE_NOT_CONNECTED`, naming the fix
 */
export function createEmbeddedRuntime(_options?: Options): Embedded {
  throw leftOut();
}

function leftOut(): FloeError {
  return new FloeError(
    ErrorCode.NotConnected,
    'this code was bundled with the "floe-aws" condition, which leaves out the embedded engine, and it is not connected ' +
      "to a floe orchestrator (FLOE_TABLE_NAME, FLOE_BUCKET_NAME, FLOE_QUEUE_URL_PREFIX are not set): connect the function " +
      "with orchestrator.connect(fn), or bundle it without the condition to run tasks in memory with createEngine()",
  );
}
