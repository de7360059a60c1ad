import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { guardScenarios } from "../guard-scenarios.ts";
import { inlineScenarios } from "../inline-scenarios.ts";

guardScenarios("the in-memory store", () => new MemoryExecutionStore());
inlineScenarios("the in-memory store", () => new MemoryExecutionStore());
