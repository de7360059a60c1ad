/** The durable-time cases on the embedded engine (both ways of waiting) and the local cloud. */
import { afterAll, beforeAll } from "vitest";
import { startEmulators, type Emulators } from "floe/local-cloud";
import { createEmbeddedRuntime } from "../../sdk/embedded/embedded-engine.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import { timeConformance } from "./time.ts";

timeConformance({ name: "embedded engine, waiting in process", create: () => createEmbeddedRuntime({ concurrency: 8 }) });
timeConformance({ name: "embedded engine, suspending on every wait", create: () => createEmbeddedRuntime({ concurrency: 8, suspendAfterMs: 0 }) });

let emulators: Emulators;
let clouds = 0;
beforeAll(async () => {
  emulators = await startEmulators();
}, 120_000);
afterAll(async () => {
  await emulators?.stop();
});
timeConformance({
  name: "local cloud",
  create: async () => {
    clouds += 1;
    return startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: `t${clouds}`, concurrency: 8, suspendAfterMs: 0 });
  },
});
