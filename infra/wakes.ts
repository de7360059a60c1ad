/**
 * Wake-ups past SQS's 15 minutes (a long sleep, delayed start or retry back-off): a
 * Scheduler schedule group where floe's functions make one-time schedules, and the role
 * those schedules send the task's message with, which may only send to the task queues.
 * The functions that send delayed messages may create schedules in that group alone and
 * pass that role alone; the environment tells them the group, the role and the queues' ARNs.
 */
import { ArnFormat, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { Construct } from "constructs";
import { EnvironmentVariable } from "../sdk/aws/contract.ts";
import { acknowledgeTaskQueues } from "./nag-acknowledgements.ts";

/** The props of {@link WakeSchedules}. */
export interface WakeSchedulesProps {
  /** The orchestrator's name prefix: the group is `<namePrefix>-wakes`, a task queue `<namePrefix>-<task>`. */
  readonly namePrefix: string;
  /** The ARN pattern of every task queue, what the role may send to. */
  readonly taskQueueArns: string;
}

const reason =
  "wake-up schedules are named from the execution and its due time, unknown at deploy time: the grant is " +
  "scheduler:CreateSchedule on this construct's own wake-up schedule group, and no other action";

/** The wake-up schedule group, its role and what a function needs to use them. */
export class WakeSchedules extends Construct {
  /** The group the wake-ups are made in. */
  public readonly group: scheduler.CfnScheduleGroup;
  /** The role a wake-up sends its message with: `sqs:SendMessage` on the task queues only. */
  public readonly role: iam.Role;
  /** The ARN pattern of the group's schedules. */
  public readonly scheduleArns: string;
  /** What a function that sends delayed messages is told (`FLOE_WAKE_SCHEDULE_GROUP`, `FLOE_WAKE_ROLE_ARN`, `FLOE_QUEUE_ARN_PREFIX`). */
  public readonly environment: Readonly<Record<string, string>>;

  /**
   * @param scope - the orchestrator
   * @param id - the construct id
   * @param props - the name prefix and the task queues
   */
  constructor(scope: Construct, id: string, props: WakeSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const groupName = `${props.namePrefix}-wakes`;
    this.group = new scheduler.CfnScheduleGroup(this, "Group", { name: groupName });
    this.role = new iam.Role(this, "Role", {
      description: "floe: a wake-up schedule sends its task's message",
      // Only this account's schedules may assume it (the confused deputy).
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [props.taskQueueArns] }));
    acknowledgeTaskQueues(this.role, props.taskQueueArns);
    // The group's name, not its Ref: a literal reads the same in a task's nested stack.
    this.scheduleArns = stack.formatArn({ service: "scheduler", resource: "schedule", resourceName: `${groupName}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.environment = {
      [EnvironmentVariable.WakeScheduleGroup]: groupName,
      [EnvironmentVariable.WakeRoleArn]: this.role.roleArn,
      [EnvironmentVariable.QueueArnPrefix]: stack.formatArn({ service: "sqs", resource: `${props.namePrefix}-` }),
    };
  }

  /**
   * Lets `fn` make wake-ups: `scheduler:CreateSchedule` in the group, and `iam:PassRole` of
   * the wake-up role to Scheduler alone.
   * @param fn - a function that sends delayed messages
   */
  grantCreate(fn: lambda.Function): void {
    iam.Grant.addToPrincipal({ grantee: fn, actions: ["scheduler:CreateSchedule"], resourceArns: [this.scheduleArns] });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      }),
    );
    const role = fn.role!;
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagText(Stack.of(role).resolve(this.scheduleArns))}]`, reason });
  }
}

/** A resolved ARN as cdk-nag names it: references as `<Id>`. */
function nagText(node: unknown): string {
  if (typeof node === "string") return node;
  const object = node as Record<string, unknown>;
  if ("Fn::Join" in object) {
    const [separator, parts] = object["Fn::Join"] as [string, unknown[]];
    return parts.map(nagText).join(separator);
  }
  if ("Ref" in object) return `<${String(object.Ref)}>`;
  return JSON.stringify(node);
}
