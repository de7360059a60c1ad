/**
 * Wake-ups past SQS's 15 minutes on the local cloud (DynamoDB Local, the SQS server and the
 * local Scheduler endpoint), on a clock the test moves: a 30-day sleep and a 30-day delayed
 * start each take one Scheduler schedule and no re-delayed message; a wake-up sent twice is
 * one schedule; and without Scheduler, a long sleep is still served by re-delayed messages.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RetryAfterError, sleep, task, taskContext, workflow } from "floe";
import { CreateScheduleCommand, GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Clock } from "../../sdk/engine/ports.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import { startSchedulerEndpoint, type SchedulerEndpoint } from "../../sdk/local-cloud/scheduler-endpoint.ts";
import { WakeScheduler, wakeScheduleName } from "../../sdk/aws/scheduled-wakes.ts";
import { readEnvironment } from "../../sdk/aws/environment.ts";
import { SqsTaskQueue } from "../../sdk/aws/sqs-task-queue.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { JumpClock, countSends, waitFor } from "../support/jump-clock.ts";

const emulators = emulatorsForFile();
const DAY = 86_400_000;
let cloud: (Runtime & { close(): Promise<void> }) | undefined;
let endpoint: SchedulerEndpoint | undefined;
let clouds = 0;

afterEach(async () => {
  await cloud?.close();
  await endpoint?.close();
  cloud = undefined;
  endpoint = undefined;
}, 60_000);

const stamp = task("wk_stamp", async (label: string) => label);
const later = task("wk_later", { retries: 1 }, async () => {
  if (taskContext()?.attempt === 1) throw new RetryAfterError("the partner asks to come back in two days", 2 * DAY);
  return "again";
});
const sleeper = workflow("wk_sleeper", async (ms: number) => {
  await sleep(ms);
  return "after";
});

/** A local cloud on `clock`, counting the Scheduler and SQS requests and the invocations. */
async function start(clock: Clock, wakes: "scheduler" | "sqs", onDelayedSend?: (seconds: number) => void) {
  const counts = { created: 0, names: [] as string[], invocations: new Map<string, number>(), sends: new Map<number, number>(), scheduler: undefined as SchedulerClient | undefined };
  cloud = await startLocalCloudRuntime({
    endpoints: emulators.endpoints,
    prefix: `wakes${(clouds += 1)}`,
    clock,
    wakes,
    onInvoke: (name) => counts.invocations.set(name, (counts.invocations.get(name) ?? 0) + 1),
    instrument: ({ sqs, scheduler }) => {
      countSends(sqs, counts.sends, onDelayedSend);
      counts.scheduler = scheduler;
      scheduler?.middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args);
          if (context.commandName === "CreateScheduleCommand") {
            counts.created += 1;
            counts.names.push((args.input as { Name: string }).Name);
          }
          return out;
        },
        { step: "initialize", name: "countSchedules" },
      );
    },
  });
  return { runtime: cloud, counts };
}

/** The delayed messages among `sends`. */
const delayed = (sends: Map<number, number>) => [...sends].filter(([seconds]) => seconds > 0).reduce((n, [, count]) => n + count, 0);

describe("wake-ups through Scheduler on the local cloud", () => {
  it("wakes a 30-day sleep with one schedule and no re-delayed message", async () => {
    const clock = new JumpClock();
    const { runtime, counts } = await start(clock, "scheduler");
    const run = runtime.submit(sleeper, 30 * DAY);
    await waitFor(() => counts.created === 1);
    // Asleep: nothing fires before its time.
    clock.jump(29 * DAY);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(counts.invocations.get("scheduler")).toBeUndefined();
    clock.jump(DAY + 1_000);
    expect(await run.result()).toBe("after");
    expect(counts.created).toBe(1);
    expect(counts.invocations.get("scheduler")).toBe(1);
    expect(delayed(counts.sends)).toBe(0);
    // The workflow ran twice: once to its sleep, once woken.
    expect(counts.invocations.get("worker:wk_sleeper")).toBe(2);
    // The one-time schedule deleted itself once it had fired.
    await expect(counts.scheduler!.send(new GetScheduleCommand({ Name: counts.names[0]!, GroupName: `wakes${clouds}-wakes` }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  }, 60_000);

  it("starts a 30-day delayed start with one schedule and no re-delayed message", async () => {
    const clock = new JumpClock();
    const { runtime, counts } = await start(clock, "scheduler");
    const run = runtime.submit(stamp.with({ delayMs: 30 * DAY }), "late");
    await waitFor(() => counts.created === 1);
    clock.jump(30 * DAY + 1_000);
    expect(await run.result()).toBe("late");
    expect(delayed(counts.sends)).toBe(0);
    expect(counts.invocations.get("worker:wk_stamp")).toBe(1);
  }, 60_000);

  it("retries after a two-day back-off with one schedule and no re-delayed message", async () => {
    const clock = new JumpClock();
    const { runtime, counts } = await start(clock, "scheduler");
    const run = runtime.submit(later);
    await waitFor(() => counts.created === 1);
    clock.jump(2 * DAY + 1_000);
    expect(await run.result()).toBe("again");
    expect(delayed(counts.sends)).toBe(0);
    expect(counts.invocations.get("worker:wk_later")).toBe(2);
  }, 60_000);

  it("serves a long sleep by re-delayed messages without Scheduler, one per 15 minutes", async () => {
    const clock = new JumpClock();
    // SQS delays in real time: each 15-minute delay is passed on the clock instead.
    const { runtime, counts } = await start(clock, "sqs", (seconds) => clock.jump(seconds * 1000));
    expect(await runtime.submit(sleeper, 3_600_000).result()).toBe("after");
    expect(counts.created).toBe(0);
    // The sleep's send, then one each time it arrived early: at 15, 30 and 45 minutes.
    expect(delayed(counts.sends)).toBe(4);
    expect(counts.invocations.get("worker:wk_sleeper")).toBe(5);
  }, 60_000);
});

describe("a wake-up's schedule", () => {
  it("is made once however often the message is sent", async () => {
    const sqs = new SQSClient({ endpoint: emulators.endpoints.sqs, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    const delivered: string[] = [];
    endpoint = await startSchedulerEndpoint({ groups: ["wakes"], deliver: async (_, input) => void delivered.push(input) });
    const client = new SchedulerClient({ endpoint: endpoint.url, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    const now = 1_900_000_000_000;
    const wakes = new WakeScheduler({ client, groupName: "wakes", roleArn: "arn:aws:iam::1:role/w", queueArn: (t) => `arn:aws:sqs:us-east-1:1:q-${t}`, now: () => now });
    const queue = new SqsTaskQueue({ client: sqs, queueUrl: () => "unused", wakes });
    const message = { executionId: "a~b", taskName: "t", attempt: 2 };
    await queue.send([message], 2 * DAY);
    await queue.send([message], 2 * DAY);
    await Promise.all([wakes.schedule(message, 2 * DAY), wakes.schedule(message, 2 * DAY)]);
    const [only, ...more] = endpoint.schedules();
    expect(more).toEqual([]);
    const name = wakeScheduleName(message, (now + 2 * DAY) / 1000);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(only).toMatchObject({
      Name: name,
      GroupName: "wakes",
      ScheduleExpression: "at(2030-03-19T17:46:40)",
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      ActionAfterCompletion: "DELETE",
      Target: { Arn: "arn:aws:sqs:us-east-1:1:q-t", RoleArn: "arn:aws:iam::1:role/w", Input: JSON.stringify(message) },
    });
    // Another attempt, or another due time, is another wake-up.
    await wakes.schedule({ ...message, attempt: 3 }, 2 * DAY);
    expect(endpoint.schedules()).toHaveLength(2);
    client.destroy();
    sqs.destroy();
  });

  it("is answered as the service answers: a conflict, a missing schedule or group, a bad expression", async () => {
    endpoint = await startSchedulerEndpoint({ deliver: async () => undefined });
    const client = new SchedulerClient({ endpoint: endpoint.url, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    const input = { Name: "n", ScheduleExpression: "rate(5 minutes)", FlexibleTimeWindow: { Mode: "OFF" as const }, Target: { Arn: "arn:x", RoleArn: "arn:r" } };
    await client.send(new CreateScheduleCommand(input));
    await expect(client.send(new CreateScheduleCommand(input))).rejects.toMatchObject({ name: "ConflictException" });
    await expect(client.send(new GetScheduleCommand({ Name: "other" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(client.send(new CreateScheduleCommand({ ...input, Name: "m", GroupName: "nowhere" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(client.send(new CreateScheduleCommand({ ...input, Name: "m", ScheduleExpression: "every day" }))).rejects.toMatchObject({ name: "ValidationException" });
    expect((await client.send(new GetScheduleCommand({ Name: "n" }))).State).toBe("ENABLED");
    client.destroy();
  });
});

describe("the wake-up settings", () => {
  const base = { FLOE_TABLE_NAME: "t", FLOE_BUCKET_NAME: "b", FLOE_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/1/p-" };
  it("takes the group, the role and the queue ARNs together, or none of them", () => {
    expect(readEnvironment(base).FLOE_WAKE_SCHEDULE_GROUP).toBeUndefined();
    expect(() => readEnvironment({ ...base, FLOE_WAKE_SCHEDULE_GROUP: "p-wakes" })).toThrow(
      "FLOE_WAKE_SCHEDULE_GROUP set without FLOE_WAKE_ROLE_ARN, FLOE_QUEUE_ARN_PREFIX; wake-ups through Scheduler need all three",
    );
  });
});
