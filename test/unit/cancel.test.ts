import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { cancelScenarios } from "../cancel-scenarios.ts";

cancelScenarios("the in-memory store", () => new MemoryExecutionStore());
