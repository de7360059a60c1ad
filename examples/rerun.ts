/**
 * Re-runs: a monthly report fetches three regions and publishes their total. The `emea`
 * fetch fails (its upstream API is down) and the run fails. Once the API is back,
 * `engine.rerun(run)` (or `floe rerun <id>`, or the dashboard's Re-run button) runs the same
 * run again, in place: the `amer` and `apac` fetches completed, so their results are reused
 * and they do not run again; the `emea` fetch runs again, and so does `publish`, which
 * depends on it. The first failure stays in the run's history.
 *
 * Run it with `npx tsx examples/rerun.ts`.
 */
import { createEngine, task, workflow, type Engine } from "floe";

/** Whether the EMEA API is down: the first run finds it so. */
export const outage = { emea: true };
/** How many times each region was fetched. */
export const fetches = new Map<string, number>();

/** Fetches a region's monthly sales (in a real app, an HTTP call). */
export const fetchRegion = task("fetch_region", async (region: string, month: string) => {
  fetches.set(region, (fetches.get(region) ?? 0) + 1);
  if (region === "emea" && outage.emea) throw new Error(`the ${region} sales API answered 503 for ${month}`);
  return { region, salesCents: { amer: 120_000, emea: 80_000, apac: 50_000 }[region] ?? 0 };
});

/** Publishes the report once the regions are in. */
export const publish = task("publish_report", async (month: string, totals: readonly { salesCents: number }[]) => ({
  month,
  totalCents: totals.reduce((sum, t) => sum + t.salesCents, 0),
}));

/** The report: three fetches at once, then the publication. */
export const monthlyReport = workflow("monthly_report", async (month: string) => {
  const regions = ["amer", "emea", "apac"].map((region) => fetchRegion.submit(region, month));
  const totals = await Promise.all(regions.map((r) => r.result()));
  return publish(month, totals);
});

/**
 * Runs the report (it fails), ends the outage, and re-runs it.
 * @returns the run's first error, the report and the fetches each region took
 */
export async function reportWithRerun(engine: Engine, month: string): Promise<{ firstError: string; report: unknown; fetches: Record<string, number> }> {
  const run = engine.submit(monthlyReport, month);
  const firstError = await run.result().then(
    () => "none",
    (error: Error) => error.message,
  );
  outage.emea = false;
  const again = await engine.rerun(run);
  return { firstError, report: await again.result(), fetches: Object.fromEntries(fetches) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await using engine = createEngine();
  const { firstError, report, fetches: counts } = await reportWithRerun(engine, "2026-11");
  console.log("first run failed:", firstError);
  console.log("re-run:", report, "fetches:", counts);
}
