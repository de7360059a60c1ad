/**
 * One set of emulators (DynamoDB Local, the SQS and S3 servers) for a test file: started
 * before its tests, stopped after them. Each test makes its own tables, queues and bucket
 * under a prefix of its own, so the tests share the servers' start-up and nothing else.
 */
import { afterAll, beforeAll } from "vitest";
import { startEmulators, type Emulators, type Endpoints } from "floe/local-cloud";

/** Starts the file's emulators before its tests; answers where they listen, once started. */
export function emulatorsForFile(): { readonly endpoints: Endpoints } {
  let emulators: Emulators | undefined;
  beforeAll(async () => {
    emulators = await startEmulators();
  }, 120_000);
  afterAll(async () => {
    await emulators?.stop();
  });
  return {
    get endpoints(): Endpoints {
      if (emulators === undefined) throw new Error("the file's emulators have not started");
      return emulators.endpoints;
    },
  };
}
