/** External executions on the embedded engine (both ways of waiting) and the local cloud. */
import { createEmbeddedRuntime } from "../../sdk/embedded/embedded-engine.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import { externalConformance } from "./external.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";

externalConformance({ name: "embedded engine, waiting in process", create: () => createEmbeddedRuntime({ concurrency: 8 }) });
externalConformance({ name: "embedded engine, suspending on every wait", create: () => createEmbeddedRuntime({ concurrency: 8, suspendAfterMs: 0 }) });

const emulators = emulatorsForFile();
let clouds = 0;
externalConformance({
  name: "local cloud",
  create: async () => {
    clouds += 1;
    return startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: `x${clouds}`, concurrency: 8, suspendAfterMs: 0 });
  },
});
