import { createEmbeddedRuntime } from "../../sdk/embedded/embedded-engine.ts";
import { rerunScenarios } from "../rerun/scenarios.ts";

rerunScenarios({ name: "embedded engine, waiting in process", create: () => createEmbeddedRuntime({ concurrency: 64 }) });
// Every wait suspends, as on a cloud worker: the re-run of a parent reads its children first.
rerunScenarios({ name: "embedded engine, suspending on every wait", create: () => createEmbeddedRuntime({ concurrency: 64, suspendAfterMs: 0 }) });
