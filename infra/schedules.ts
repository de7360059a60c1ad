/**
 * One EventBridge Scheduler schedule per scheduled workflow, each with a role of its own
 * that may only invoke the API function (whose tick handler starts the run under the id
 * the workflow and the tick derive) and send to the schedule's dead-letter queue.
 */
import { createHash } from "node:crypto";
import { ArnFormat, Duration, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** A workflow's validated schedule, as the tasks module reports it (the SDK's `ScheduleSpec`, which synth does not import). */
export type ScheduleSpec =
  | { readonly type: "cron"; readonly cron: string; readonly timezone: string }
  | { readonly type: "rate"; readonly every: string; readonly everyMs: number };

/** The event a schedule sends the API function: the API's tick handler recognises it by its key. */
export const tickEventKey = "floeScheduledTick";

/** A scheduled workflow's schedule, its role and its dead-letter queue. */
export class WorkflowSchedule extends Construct {
  /** The Scheduler schedule. */
  public readonly schedule: scheduler.CfnSchedule;
  /** The role the schedule invokes the API function with, and nothing else. */
  public readonly role: iam.Role;
  /** Where a tick goes that could not be delivered after Scheduler's retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The schedule's name, in the default group: what the API function pauses and resumes. */
  public readonly scheduleName: string;
  /** The schedule's ARN, built from its name: the API function's grant on it refers to no resource, so makes no cycle with the function the schedule targets. */
  public readonly scheduleArn: string;

  /**
   * @param scope - the orchestrator
   * @param id - the construct id
   * @param props - the workflow, its validated schedule and the API function that starts its runs
   */
  constructor(scope: Construct, id: string, props: { workflow: string; spec: ScheduleSpec; target: lambda.IFunction; namePrefix: string }) {
    super(scope, id);
    this.scheduleName = scheduleName(props.namePrefix, props.workflow);
    this.scheduleArn = Stack.of(this).formatArn({ service: "scheduler", resource: "schedule", resourceName: `default/${this.scheduleName}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.role = new iam.Role(this, "Role", {
      description: `floe: the schedule of workflow ${props.workflow} starts its runs`,
      // Only this account's schedules may assume it (the confused deputy).
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
    });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [props.target.functionArn] }));
    this.deadLetterQueue.grantSendMessages(this.role);
    const endOfLine = "this queue is a schedule's dead-letter queue, the last stop of a tick Scheduler could not deliver: it keeps it 14 days for inspection";
    for (const id of ["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"]) Validations.of(this.deadLetterQueue).acknowledge({ id, reason: endOfLine });
    const { spec } = props;
    this.schedule = new scheduler.CfnSchedule(this, "Schedule", {
      name: this.scheduleName,
      description: `floe: runs workflow ${props.workflow} ${spec.type === "rate" ? `every ${spec.every}` : `at cron ${spec.cron}`}`,
      scheduleExpression: scheduleExpression(spec),
      scheduleExpressionTimezone: spec.type === "cron" ? spec.timezone : undefined,
      flexibleTimeWindow: { mode: "OFF" },
      state: "ENABLED",
      target: {
        arn: props.target.functionArn,
        roleArn: this.role.roleArn,
        // The tick's due time, not the time of delivery: a retried or repeated delivery derives the same run.
        input: JSON.stringify({ [tickEventKey]: { workflow: props.workflow, scheduledAt: "<aws.scheduler.scheduled-time>" } }),
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 10 },
      },
    });
  }
}

/**
 * A workflow schedule's name: `<namePrefix>-<workflow>`, unique to the construct (as its
 * queues' names are), cut to Scheduler's 64 characters with a digest of the whole when longer.
 */
export function scheduleName(namePrefix: string, workflow: string): string {
  const name = `${namePrefix}-${workflow}`;
  if (name.length <= 64) return name;
  return `${name.slice(0, 55)}-${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}

/**
 * Lets `grantee` (the API function) pause and resume `schedule`: read it and write it back
 * with another state, passing its own role again, to Scheduler alone.
 * @param schedule - a workflow's schedule
 * @param grantee - the API function
 */
export function grantPause(schedule: WorkflowSchedule, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({ grantee, actions: ["scheduler:GetSchedule", "scheduler:UpdateSchedule"], resourceArns: [schedule.scheduleArn] });
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ["iam:PassRole"],
      resources: [schedule.role.roleArn],
      conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
    }),
  );
}

/**
 * The Scheduler expression of a schedule: `rate(15 minutes)`, or the 5-field cron as
 * EventBridge's 6 fields (a year; `?` in the day field left free; days of the week 1–7
 * from Sunday where cron counts 0–6, or 7, from Sunday).
 */
export function scheduleExpression(spec: ScheduleSpec): string {
  if (spec.type === "rate") return `rate(${spec.every})`;
  // EventBridge documents steps from a start (0/15), not from "*".
  const fields = spec.cron.split(" ").map((f, i) => f.replace(/^\*\//, i < 2 ? "0/" : "1/"));
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields as [string, string, string, string, string];
  if (dayOfWeek === "*") return `cron(${minute} ${hour} ${dayOfMonth} ${month} ? *)`;
  // A step's count is not a day: only numbers before a "/" are shifted.
  const days = dayOfWeek.replace(/(^|[,-])(\d+)/g, (_, sep: string, n: string) => `${sep}${(Number(n) % 7) + 1}`);
  return `cron(${minute} ${hour} ? ${month} ${days} *)`;
}
