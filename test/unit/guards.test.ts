import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { guardScenarios } from "../guard-scenarios.ts";

guardScenarios("the in-memory store", () => new MemoryExecutionStore());
