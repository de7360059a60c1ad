/** 150 tasks for the Orchestrator's scale test: more than one stack could hold. */
import { task } from "floe";

for (let i = 0; i < 150; i++) task(`step_${i}`, async (n: number) => n + i);
