/**
 * A scheduled workflow: `nightly_report` runs at 03:00 Paris time each day, and
 * `refresh_rates` every 15 minutes. Each run receives the tick it is for; a tick delivered
 * twice starts one run.
 *
 * Serve it with `floe dev examples/nightly-report.ts` (the schedules run in process), list
 * them with `floe schedules examples/nightly-report.ts`, or run one tick by hand:
 * `floe run examples/nightly-report.ts nightly_report '{"scheduledAt":"2026-03-02T02:00:00Z"}'`.
 */
import { task, workflow } from "floe";

/** Counts yesterday's orders (a stand-in for a query). */
export const countOrders = task("count_orders", async (day: string) => ({ day, orders: day.length * 7 }));

/** Every day at 03:00 in Paris: the report of the day before the tick. */
export const nightlyReport = workflow(
  "nightly_report",
  { schedule: { cron: "0 3 * * *", timezone: "Europe/Paris" } },
  async (tick: { scheduledAt: Date | string }) => {
    const yesterday = new Date(new Date(tick.scheduledAt).getTime() - 86_400_000).toISOString().slice(0, 10);
    return countOrders(yesterday);
  },
);

/** Every 15 minutes: a tick-stamped refresh. */
export const refreshRates = workflow("refresh_rates", { schedule: { every: "15 minutes" } }, async (tick: { scheduledAt: Date }) => ({
  refreshedFor: tick.scheduledAt,
}));
