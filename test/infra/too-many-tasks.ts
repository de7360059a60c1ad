/** One task more than an Orchestrator holds. */
import { task } from "floe";
import { MAX_TASKS } from "../../infra/task-groups.ts";

for (let i = 0; i <= MAX_TASKS; i++) task(`step_${i}`, async (n: number) => n + i);
