/** Keyed starts on the in-memory store (T15, T22); `test/aws/` runs them on DynamoDB Local. */
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { keyedStartScenarios } from "../keyed-start-scenarios.ts";

keyedStartScenarios("the in-memory store", () => new MemoryExecutionStore());
