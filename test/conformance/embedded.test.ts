import { createEmbeddedRuntime } from "../../sdk/embedded/embedded-engine.ts";
import { conformance } from "./suite.ts";
import { inlineConformance } from "./inline.ts";

const waiting = {
  name: "embedded engine, waiting in process",
  create: ({ concurrency }: { readonly concurrency?: number }) => createEmbeddedRuntime({ concurrency: concurrency ?? 64 }),
  suspends: false,
};
conformance(waiting);
inlineConformance(waiting);

// Every wait suspends the task and re-runs it from the start, as a cloud worker does: the
// re-run path the cloud depends on, exercised on the in-memory adapters.
const suspending = {
  name: "embedded engine, suspending on every wait",
  create: ({ concurrency }: { readonly concurrency?: number }) =>
    createEmbeddedRuntime({ concurrency: concurrency ?? 64, suspendAfterMs: 0, blobThreshold: 32_768 }),
  suspends: true,
};
conformance(suspending);
inlineConformance(suspending);
