import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { waitCycleScenarios } from "../wait-cycle-scenarios.ts";

waitCycleScenarios("the in-memory store", () => new MemoryExecutionStore());
