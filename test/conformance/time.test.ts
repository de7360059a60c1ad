/** The durable-time cases on the embedded engine (both ways of waiting) and the local cloud. */
import { createEmbeddedRuntime } from "../../sdk/embedded/embedded-engine.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import { timeConformance } from "./time.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";

timeConformance({ name: "embedded engine, waiting in process", create: () => createEmbeddedRuntime({ concurrency: 8 }) });
timeConformance({ name: "embedded engine, suspending on every wait", create: () => createEmbeddedRuntime({ concurrency: 8, suspendAfterMs: 0 }) });

const emulators = emulatorsForFile();
let clouds = 0;
timeConformance({
  name: "local cloud",
  create: async () => {
    clouds += 1;
    return startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: `t${clouds}`, concurrency: 8, suspendAfterMs: 0 });
  },
});
