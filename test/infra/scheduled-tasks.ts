/** A tasks module with scheduled workflows, for the schedules' template test. */
import { task, workflow } from "floe";

export const nightly = workflow("nightly_report", { schedule: { cron: "0 3 * * 1-5", timezone: "Europe/Paris" } }, async (tick: { scheduledAt: Date }) =>
  tick.scheduledAt.toISOString(),
);
export const quarterly = workflow("quarter_hour", { schedule: { every: "15 minutes" } }, async () => "tick");
export const plain = workflow("plain", async () => 1);
export const step = task("step", async () => 1);
