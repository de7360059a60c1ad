/**
 * The local cloud's wake-ups past SQS's 15 minutes: a local EventBridge Scheduler
 * (`scheduler-endpoint.ts`) whose fired schedules are sent to the task queues, and the
 * names the functions are told, as the construct tells them its schedule group, role and
 * queue ARNs.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { EnvironmentVariable as V } from "../aws/contract.ts";
import type { Clock } from "../engine/ports.ts";
import { startSchedulerEndpoint, type SchedulerEndpoint } from "./scheduler-endpoint.ts";

/** The local Scheduler's account and the names the local cloud's functions are told (as the construct tells them its own). */
export function wakeEnvironment(prefix: string, region = "us-east-1"): Record<"FLOE_WAKE_SCHEDULE_GROUP" | "FLOE_WAKE_ROLE_ARN" | "FLOE_QUEUE_ARN_PREFIX", string> {
  return {
    [V.WakeScheduleGroup]: `${prefix}-wakes`,
    [V.WakeRoleArn]: `arn:aws:iam::000000000000:role/${prefix}-wakes`,
    [V.QueueArnPrefix]: `arn:aws:sqs:${region}:000000000000:${prefix}-`,
  };
}

/**
 * Starts the local Scheduler and its client: a fired schedule's input is sent to the queue
 * its target names (a task's, by the ARN prefix the functions are told), as Scheduler's
 * role would send it, and the poller is nudged to read it at once.
 */
export async function startScheduling(
  settings: {
    readonly prefix: string;
    readonly region: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
    readonly sqs: SQSClient;
    readonly clock: Clock | undefined;
    readonly onInvoke: ((functionName: string) => void) | undefined;
  },
  ensure: (task: string) => Promise<string>,
  nudge: (url: string) => void,
): Promise<{ endpoint: SchedulerEndpoint; client: SchedulerClient }> {
  const { prefix, region, credentials, sqs, clock } = settings;
  const arnPrefix = wakeEnvironment(prefix, region)[V.QueueArnPrefix];
  const endpoint = await startSchedulerEndpoint({
    groups: [`${prefix}-wakes`],
    ...(clock === undefined ? {} : { now: () => clock.now() }),
    deliver: async (arn, input) => {
      if (!arn.startsWith(arnPrefix)) throw new Error(`floe local cloud: a schedule targets ${arn}, which is no task queue of this cloud`);
      const url = await ensure(arn.slice(arnPrefix.length));
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: input }));
      settings.onInvoke?.("scheduler");
      nudge(url);
    },
  });
  return { endpoint, client: new SchedulerClient({ endpoint: endpoint.url, region, credentials }) };
}

