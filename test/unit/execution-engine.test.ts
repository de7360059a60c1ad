import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { engineScenarios } from "../engine-scenarios.ts";
import { failureScenarios } from "../failure-scenarios.ts";
import { runListingScenarios } from "../run-listing-scenarios.ts";

engineScenarios("the in-memory store", () => new MemoryExecutionStore());
failureScenarios("the in-memory store", () => new MemoryExecutionStore());
runListingScenarios("the in-memory store", () => new MemoryExecutionStore());
