import { afterAll, beforeAll } from "vitest";
import { startEmulators, startLocalCloud, type Emulators } from "floe/local-cloud";
import { conformance } from "./suite.ts";

// One set of emulators for the file; each test gets its own table, queues and bucket.
let emulators: Emulators;
let clouds = 0;

beforeAll(async () => {
  emulators = await startEmulators();
}, 120_000);

afterAll(async () => {
  await emulators?.stop();
});

conformance({
  name: "local cloud (DynamoDB Local, SQS and S3 servers, the real handlers)",
  create: ({ concurrency }) => {
    clouds += 1;
    return startLocalCloud({
      endpoints: emulators.endpoints,
      prefix: `c${clouds}`,
      concurrency: concurrency ?? 64,
      suspendAfterMs: 0,
    });
  },
  suspends: true,
});
