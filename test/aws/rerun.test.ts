/**
 * Re-runs on the AWS code path: the real handlers (worker, coordinator) over DynamoDB Local
 * and the SQS server, one set of emulators for the file. Two requests at once race on the
 * root's conditional write: one re-run starts.
 */
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { rerunScenarios } from "../rerun/scenarios.ts";

const emulators = emulatorsForFile();
let clouds = 0;

rerunScenarios({
  name: "local cloud (DynamoDB Local, SQS server, the real handlers)",
  create: () => {
    clouds += 1;
    return startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: `rr${clouds}`, concurrency: 16, suspendAfterMs: 0 });
  },
  settleMs: 150_000,
});
