/**
 * Pausing and resuming a workflow's schedule through the API function on the local cloud:
 * the routes read the schedule from (the local) EventBridge Scheduler and write it back
 * whole with the new state, so nothing else of it changes; `GET /schedules` shows the
 * state Scheduler holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workflow } from "floe";
import { CreateScheduleCommand, GetScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { createApiHandler, schedulesFromEnvironment } from "../../functions/api.ts";
import { parseWorkflowSchedules } from "../../sdk/schedules/scheduler-control.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { apiEvent } from "../support/api-event.ts";

const emulators = emulatorsForFile();
let cloud: Runtime & { close(): Promise<void> };
let scheduler: SchedulerClient;

workflow("sp_nightly", { schedule: { cron: "0 3 * * 1-5", timezone: "Europe/Paris" } }, async () => "done");

/** The schedule as the construct makes it (infra/schedules.ts). */
const made = {
  Name: "Floe-Schedule-sp-nightly-1A2B3C",
  ScheduleExpression: "cron(0 3 ? * 2-6 *)",
  ScheduleExpressionTimezone: "Europe/Paris",
  Description: "floe: runs workflow sp_nightly at cron 0 3 * * 1-5",
  FlexibleTimeWindow: { Mode: "OFF" as const },
  State: "ENABLED" as const,
  Target: {
    Arn: "arn:aws:lambda:us-east-1:000000000000:function:api",
    RoleArn: "arn:aws:iam::000000000000:role/sp-nightly",
    Input: JSON.stringify({ floeScheduledTick: { workflow: "sp_nightly", scheduledAt: "<aws.scheduler.scheduled-time>" } }),
    DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:sp-dlq" },
    RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
  },
};

beforeAll(async () => {
  cloud = await startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: "pause", instrument: (clients) => (scheduler = clients.scheduler!) });
  await scheduler.send(new CreateScheduleCommand(made));
}, 120_000);

afterAll(async () => {
  await cloud?.close();
}, 60_000);

function request(method: string, path: string): APIGatewayProxyEventV2 {
  return apiEvent(method, path, { caller: "arn:aws:iam::1:user/ops" });
}

describe("schedule routes on the local cloud's Scheduler", () => {
  it("pauses and resumes a workflow's schedule, sending every other field back unchanged", async () => {
    const api = createApiHandler({ runtime: cloud, routes: schedulesFromEnvironment({ FLOE_WORKFLOW_SCHEDULES: JSON.stringify({ sp_nightly: made.Name }) }, scheduler) });
    const call = async (method: string, path: string) => {
      const response = await api(request(method, path));
      return { status: response.statusCode, body: JSON.parse(response.body ?? "null") as Record<string, unknown> };
    };
    const listed = await call("GET", "/schedules");
    expect(listed.body).toMatchObject({ schedules: [{ workflow: "sp_nightly", schedule: "cron 0 3 * * 1-5 (Europe/Paris)", paused: false }] });

    const paused = await call("POST", "/schedules/sp_nightly/pause");
    expect(paused).toMatchObject({ status: 200, body: { workflow: "sp_nightly", paused: true, next: null } });
    const stored = await scheduler.send(new GetScheduleCommand({ Name: made.Name }));
    const { State, ...rest } = made;
    expect(State).toBe("ENABLED");
    expect(stored).toMatchObject({ ...rest, State: "DISABLED" });
    expect((await call("GET", "/schedules")).body).toMatchObject({ schedules: [{ paused: true, next: null }] });

    const resumed = await call("POST", "/schedules/sp_nightly/resume");
    expect(resumed).toMatchObject({ status: 200, body: { paused: false } });
    expect(typeof resumed.body.next).toBe("string");
    expect(await scheduler.send(new GetScheduleCommand({ Name: made.Name }))).toMatchObject({ ...rest, State: "ENABLED" });
  }, 30_000);

  it("answers 404 naming the scheduled workflows for another name", async () => {
    const api = createApiHandler({ runtime: cloud, routes: schedulesFromEnvironment({ FLOE_WORKFLOW_SCHEDULES: JSON.stringify({ sp_nightly: made.Name }) }, scheduler) });
    const response = await api(request("POST", "/schedules/sp_other/pause"));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body ?? "{}")).toMatchObject({ error: { code: "FLOE_UNKNOWN_TASK", message: expect.stringContaining("sp_nightly") } });
  });
});

describe("FLOE_WORKFLOW_SCHEDULES", () => {
  it("must be a JSON object of schedule names, or the API function says so", () => {
    expect(parseWorkflowSchedules('{"a":"p-a"}')).toEqual({ a: "p-a" });
    for (const bad of ["", "[]", '{"a":1}', "p-a"]) {
      expect(() => parseWorkflowSchedules(bad)).toThrow("FLOE_WORKFLOW_SCHEDULES must be a JSON object of schedule names by workflow");
    }
  });
});
