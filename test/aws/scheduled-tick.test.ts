/**
 * The API function's tick handler, which each workflow's Scheduler schedule invokes, on the
 * local cloud (DynamoDB Local, the SQS and S3 servers): Scheduler delivers at least once,
 * and every delivery of one tick finds the one run the first started.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workflow } from "floe";
import { startEmulators, type Emulators } from "floe/local-cloud";
import { createApiHandler } from "../../functions/api.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";

let emulators: Emulators;
let local: Runtime & { close(): Promise<void> };

beforeAll(async () => {
  emulators = await startEmulators();
  local = await startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: "tick" });
}, 120_000);

afterAll(async () => {
  await local?.close();
  await emulators?.stop();
}, 60_000);

const ticked: string[] = [];
workflow("tick_report", { schedule: { cron: "0 3 * * *", timezone: "Europe/Paris" } }, async (tick: { scheduledAt: Date }) => {
  ticked.push(tick.scheduledAt.toISOString());
  return tick.scheduledAt.toISOString();
});
workflow("tick_plain", async () => 1);

const tickEvent = (workflow: string, scheduledAt: string) => ({ floeScheduledTick: { workflow, scheduledAt } });

describe("a scheduled tick on the local cloud", () => {
  it("starts one run however often the tick is delivered, and the run receives the tick's time", async () => {
    const api = createApiHandler({ runtime: local });
    const first = await api(tickEvent("tick_report", "2026-03-02T02:00:00Z"));
    const again = await Promise.all(Array.from({ length: 5 }, () => api(tickEvent("tick_report", "2026-03-02T02:00:00Z"))));
    const ids = [first, ...again].map((r) => (JSON.parse(r.body ?? "{}") as { id: string }).id);
    expect(new Set(ids).size).toBe(1);
    expect(await local.reference(ids[0]!).result()).toBe("2026-03-02T02:00:00.000Z");
    const runs = await local.listRuns({ taskName: "tick_report" });
    expect(runs.map((r) => r.id)).toEqual([ids[0]]);
    expect(ticked).toEqual(["2026-03-02T02:00:00.000Z"]);

    const next = await api(tickEvent("tick_report", "2026-03-03T02:00:00Z"));
    expect((JSON.parse(next.body ?? "{}") as { id: string }).id).not.toBe(ids[0]);
  }, 60_000);

  it("refuses a tick for a workflow without a schedule, starting nothing", async () => {
    const api = createApiHandler({ runtime: local });
    await expect(api(tickEvent("tick_plain", "2026-03-02T02:00:00Z"))).rejects.toMatchObject({
      code: "FLOE_INVALID_OPTION",
      message: expect.stringContaining("must name a scheduled workflow"),
    });
    expect(await local.listRuns({ taskName: "tick_plain" })).toEqual([]);
  });
});
