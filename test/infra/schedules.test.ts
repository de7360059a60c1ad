/**
 * The schedules' template: one Scheduler schedule per scheduled workflow, in EventBridge's
 * cron or rate, with its timezone, no flexible window, the tick time in its input, a role
 * that may only invoke the API function and send to its own dead-letter queue. Bundling
 * is skipped: the template only.
 */
import { App, Stack, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { Orchestrator } from "../../infra/index.ts";
import { scheduleExpression, scheduleName } from "../../infra/schedules.ts";
import { flatTemplate, resourcesOf } from "./example-stack.ts";

let stack: Stack;
let floe: Orchestrator;
let template: Template;
const id = (c: IConstruct) => Stack.of(c).resolve(((c.node.defaultChild ?? c) as CfnElement).logicalId) as string;

beforeAll(() => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  stack = new Stack(app, "Scheduled", { env: { account: "123456789012", region: "eu-west-1" } });
  floe = new Orchestrator(stack, "Floe", { tasksModule: fileURLToPath(new URL("./scheduled-tasks.ts", import.meta.url)) });
  template = flatTemplate(stack);
}, 120_000);

describe("Orchestrator, schedules", () => {
  it("makes one schedule per scheduled workflow, no more", () => {
    expect([...floe.schedules.keys()].sort()).toEqual(["nightly_report", "quarter_hour"]);
    expect(Object.keys(resourcesOf(template, "AWS::Scheduler::Schedule"))).toHaveLength(2);
  });

  it("writes the cron in EventBridge's six fields, in the workflow's timezone, and the rate as a rate", () => {
    const schedules = resourcesOf(template, "AWS::Scheduler::Schedule");
    const nightly = schedules[id(floe.schedules.get("nightly_report")!.schedule)]!.Properties;
    expect(nightly).toMatchObject({
      ScheduleExpression: "cron(0 3 ? * 2-6 *)",
      ScheduleExpressionTimezone: "Europe/Paris",
      FlexibleTimeWindow: { Mode: "OFF" },
      State: "ENABLED",
    });
    const quarter = schedules[id(floe.schedules.get("quarter_hour")!.schedule)]!.Properties;
    expect(quarter.ScheduleExpression).toBe("rate(15 minutes)");
    expect(quarter.ScheduleExpressionTimezone).toBeUndefined();
  });

  it("sends the API function the workflow and the tick's due time, with a dead-letter queue of its own", () => {
    for (const [workflow, schedule] of floe.schedules) {
      const { Target } = resourcesOf(template, "AWS::Scheduler::Schedule")[id(schedule.schedule)]!.Properties;
      expect(Target.Arn).toEqual({ "Fn::GetAtt": [id(floe.apiHandler), "Arn"] });
      expect(JSON.parse(Target.Input as string)).toEqual({ floeScheduledTick: { workflow, scheduledAt: "<aws.scheduler.scheduled-time>" } });
      expect(Target.DeadLetterConfig.Arn).toEqual({ "Fn::GetAtt": [id(schedule.deadLetterQueue), "Arn"] });
      expect(Target.RoleArn).toEqual({ "Fn::GetAtt": [id(schedule.role), "Arn"] });
    }
  });

  it("gives each schedule a role that only this account's Scheduler assumes, to invoke the API function and send to its queue", () => {
    for (const schedule of floe.schedules.values()) {
      const role = resourcesOf(template, "AWS::IAM::Role")[id(schedule.role)]!.Properties;
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({ Principal: { Service: "scheduler.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } }),
      ]);
      const policies = Object.values(resourcesOf(template, "AWS::IAM::Policy")).filter((p) =>
        (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: id(schedule.role) })),
      );
      const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]);
      expect(statements.map((s) => [s.Action, s.Resource])).toEqual([
        ["lambda:InvokeFunction", { "Fn::GetAtt": [id(floe.apiHandler), "Arn"] }],
        [expect.arrayContaining(["sqs:SendMessage"]), { "Fn::GetAtt": [id(schedule.deadLetterQueue), "Arn"] }],
      ]);
    }
  });

  for (const pack of [AwsSolutionsChecks, ServerlessChecks]) {
    it(`has no unacknowledged ${pack.name} finding`, () => {
      const report = new pack().validateScope(stack);
      expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.resourceLogicalId).join(",")}`)).toEqual([]);
    });
  }
});

describe("scheduleExpression", () => {
  it.each([
    ["0 3 * * *", "cron(0 3 * * ? *)"],
    ["*/15 * * * *", "cron(0/15 * * * ? *)"],
    ["0 9 * * 0,6", "cron(0 9 ? * 1,7 *)"],
    ["0 9 * * 7", "cron(0 9 ? * 1 *)"],
    ["0 0 1 * *", "cron(0 0 1 * ? *)"],
  ])("turns cron %s into %s", (cron, expression) => {
    expect(scheduleExpression({ type: "cron", cron, timezone: "UTC" })).toBe(expression);
  });
});

/** The statements of the policies attached to `role`. */
function statementsOf(role: IConstruct): { Action: unknown; Resource: unknown; Condition?: unknown }[] {
  return Object.values(resourcesOf(template, "AWS::IAM::Policy"))
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: id(role) })))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown; Condition?: unknown }[]);
}

const arn = (service: string, resource: string) => ({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:${service}:eu-west-1:123456789012:${resource}`]] });

describe("Orchestrator, wake-ups and pausing", () => {
  it("makes a schedule group for wake-ups, and a role only this account's Scheduler assumes, to send to the task queues alone", () => {
    const groups = resourcesOf(template, "AWS::Scheduler::ScheduleGroup");
    expect(Object.values(groups).map((g) => g.Properties.Name)).toEqual([`${floe.namePrefix}-wakes`]);
    const role = resourcesOf(template, "AWS::IAM::Role")[id(floe.wakes.role)]!.Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: "scheduler.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } }),
    ]);
    expect(statementsOf(floe.wakes.role).map((s) => [s.Action, s.Resource])).toEqual([["sqs:SendMessage", arn("sqs", `${floe.namePrefix}-*`)]]);
  });

  it("lets every floe function create schedules in that group alone and pass that role to Scheduler alone, and tells it where", () => {
    const functions = resourcesOf(template, "AWS::Lambda::Function");
    for (const fn of floe.functions) {
      const statements = statementsOf(fn.role!);
      expect(statements).toContainEqual(expect.objectContaining({ Action: "scheduler:CreateSchedule", Resource: arn("scheduler", `schedule/${floe.namePrefix}-wakes/*`) }));
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: "iam:PassRole",
          Resource: { "Fn::GetAtt": [id(floe.wakes.role), "Arn"] },
          Condition: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
        }),
      );
      expect(statements.filter((s) => JSON.stringify(s.Action).includes("scheduler:")).length).toBe(fn === floe.apiHandler ? 3 : 1);
      expect(functions[id(fn)]!.Properties.Environment.Variables).toMatchObject({
        FLOE_WAKE_SCHEDULE_GROUP: `${floe.namePrefix}-wakes`,
        FLOE_WAKE_ROLE_ARN: { "Fn::GetAtt": [id(floe.wakes.role), "Arn"] },
        FLOE_QUEUE_ARN_PREFIX: arn("sqs", `${floe.namePrefix}-`),
      });
    }
  });

  it("lets the API function read and update each workflow's schedule and pass its role, and names the schedules in its environment", () => {
    const statements = statementsOf(floe.apiHandler.role!);
    for (const [workflow, schedule] of floe.schedules) {
      expect(schedule.scheduleName).toBe(`${floe.namePrefix}-${workflow}`);
      expect(resourcesOf(template, "AWS::Scheduler::Schedule")[id(schedule.schedule)]!.Properties.Name).toBe(schedule.scheduleName);
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: ["scheduler:GetSchedule", "scheduler:UpdateSchedule"], Resource: arn("scheduler", `schedule/default/${schedule.scheduleName}`) }),
      );
      expect(statements).toContainEqual(expect.objectContaining({ Action: "iam:PassRole", Resource: { "Fn::GetAtt": [id(schedule.role), "Arn"] } }));
    }
    const variables = resourcesOf(template, "AWS::Lambda::Function")[id(floe.apiHandler)]!.Properties.Environment.Variables;
    expect(JSON.parse(variables.FLOE_WORKFLOW_SCHEDULES as string)).toEqual(Object.fromEntries([...floe.schedules].map(([w, s]) => [w, s.scheduleName])));
  });

  it("keeps each schedule name within Scheduler's 64 characters", () => {
    const long = scheduleName("floe-12345678", "w".repeat(64));
    expect(long).toHaveLength(64);
    expect(long).not.toBe(scheduleName("floe-12345678", `${"w".repeat(63)}x`));
  });
});
