import { createEngine } from "floe";
import { conformance } from "./suite.ts";

conformance({
  name: "embedded engine, waiting in process",
  create: ({ concurrency }) => createEngine({ concurrency: concurrency ?? 64 }),
  suspends: false,
});

// Every wait suspends the task and re-runs it from the start, as a cloud worker does: the
// re-run path the cloud depends on, exercised on the in-memory adapters.
conformance({
  name: "embedded engine, suspending on every wait",
  create: ({ concurrency }) => createEngine({ concurrency: concurrency ?? 64, suspendAfterMs: 0, blobThreshold: 32_768 }),
  suspends: true,
});
