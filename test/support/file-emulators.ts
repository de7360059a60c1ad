/**
 * One set of emulators (DynamoDB Local, the SQS and S3 servers) for a test file: started
 * before its tests, stopped after them. Each test makes its own tables, queues and bucket
 * under a prefix of its own, so the tests share the servers' start-up and nothing else.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { startEmulators, type Emulators, type Endpoints } from "floe/local-cloud";
import { startLocalCloudRuntime, type LocalCloudOptions } from "../../sdk/local-cloud/local-cloud.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";

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

/**
 * A local cloud for each test of a file, over the file's emulators: `start` makes one under
 * a prefix of its own (`prefix` and a count), counting each function's invocations by name,
 * and the test's end closes it.
 */
export function localCloudsForFile(prefix: string): {
  start(options?: Pick<LocalCloudOptions, "clock" | "instrument">): Promise<{ readonly runtime: Runtime; readonly invocations: Map<string, number> }>;
} {
  const emulators = emulatorsForFile();
  let cloud: (Runtime & { close(): Promise<void> }) | undefined;
  let clouds = 0;
  afterEach(async () => {
    await cloud?.close();
    cloud = undefined;
  }, 60_000);
  return {
    async start(options = {}) {
      const invocations = new Map<string, number>();
      cloud = await startLocalCloudRuntime({
        ...options,
        endpoints: emulators.endpoints,
        prefix: `${prefix}${(clouds += 1)}`,
        onInvoke: (name) => invocations.set(name, (invocations.get(name) ?? 0) + 1),
      });
      return { runtime: cloud, invocations };
    },
  };
}
