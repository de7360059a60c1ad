/** Tasks for the Orchestrator's props tests: one with its own timeout. */
import { task, workflow } from "floe";

export const resize = task("resize", { timeoutMs: 120_000 }, async (url: string) => url);
export const publish = workflow("publish", async (url: string) => resize(url));
