/**
 * Monitoring in the template: the workers are told to write their metrics, the dashboard
 * and the failure-rate alarms are drawn from those metrics, and `tracing` turns on X-Ray
 * active tracing and floe's spans on every function. Bundling is skipped: these tests read
 * the template only.
 */
import { App, Stack, type CfnElement } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as sns from "aws-cdk-lib/aws-sns";
import { fileURLToPath } from "node:url";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { Orchestrator, type OrchestratorProps } from "../../infra/index.ts";
import { EnvironmentVariable as V } from "../../sdk/aws/contract.ts";

const tasksModule = fileURLToPath(new URL("./tasks.ts", import.meta.url));

function synth(props: Partial<OrchestratorProps> | ((stack: Stack) => Partial<OrchestratorProps>) = {}) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Watched", { env: { account: "123456789012", region: "eu-west-1" } });
  const floe = new Orchestrator(stack, "Floe", { tasksModule, ...(typeof props === "function" ? props(stack) : props) });
  return { stack, floe };
}

const logicalId = (construct: IConstruct) => Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;

/** A function's resource in its own stack's template (a worker lives in a nested stack). */
function functionOf(fn: IConstruct): { Properties: { Environment: { Variables: Record<string, unknown> }; TracingConfig?: unknown } } {
  return Template.fromStack(Stack.of(fn)).findResources("AWS::Lambda::Function")[logicalId(fn)] as never;
}

/** The dashboard's body, with its tokens joined. */
function dashboardBody(stack: Stack): string {
  const [dashboard] = Object.values(Template.fromStack(stack).findResources("AWS::CloudWatch::Dashboard"));
  const body = (dashboard?.Properties as { DashboardBody: unknown }).DashboardBody;
  const join = (node: unknown): string =>
    typeof node === "string" ? node : Array.isArray(node) ? node.map(join).join("") : "Fn::Join" in (node as object) ? join((node as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1]) : JSON.stringify(node);
  return join(body);
}

describe("Orchestrator monitoring", () => {
  it("tells every worker, and no other function, to write metrics in namespace floe under the construct's path", () => {
    const { floe } = synth();
    for (const fn of floe.taskFunctions) {
      expect(functionOf(fn).Properties.Environment.Variables).toMatchObject({ [V.MetricsNamespace]: "floe", [V.MetricsDeployment]: "Watched/Floe" });
    }
    for (const fn of [floe.coordinator, floe.apiHandler, floe.deadLetterHandler, floe.reconciler]) {
      expect(functionOf(fn).Properties.Environment.Variables).not.toHaveProperty(V.MetricsNamespace);
    }
    expect(floe.monitoring.dashboard).toBeUndefined();
    expect(floe.monitoring.alarms).toEqual([]);
  });

  it("writes no metrics with metrics: false", () => {
    const { floe } = synth({ monitoring: { metrics: false } });
    for (const fn of floe.taskFunctions) expect(functionOf(fn).Properties.Environment.Variables).not.toHaveProperty(V.MetricsNamespace);
  });

  it("draws a dashboard of per-task and whole-deployment figures, queue ages and dead-letter depths", () => {
    const { stack, floe } = synth({ namePrefix: "shop", monitoring: { namespace: "shop/floe", dashboard: true } });
    expect(floe.monitoring.dashboard).toBeDefined();
    const body = dashboardBody(stack);
    for (const name of ["Started", "Completed", "Failed", "Retried", "Duration", "QueueWait"]) {
      expect(body).toContain(`SEARCH('{shop/floe,Deployment,Task} MetricName=\\"${name}\\" Deployment=\\"Watched/Floe\\"'`);
    }
    expect(body).toContain(`"shop/floe","Duration","Deployment","Watched/Floe",{"label":"Duration p99","stat":"p99"}`);
    expect(body).toContain(`"shop/floe","QueueWait","Deployment","Watched/Floe",{"label":"QueueWait p50","stat":"p50"}`);
    for (const task of ["resize", "publish"]) {
      expect(body).toContain(`"AWS/SQS","ApproximateAgeOfOldestMessage","QueueName","shop-${task}"`);
      expect(body).toContain(`"AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","shop_${task}"`);
    }
  });

  it("alarms on the deployment's failure rate, failed / (completed + failed), and sends to the topic", () => {
    const { stack, floe } = synth((s) => ({ monitoring: { failureRateAlarm: { threshold: 0.05, periods: 3, topic: new sns.Topic(s, "Alerts") } } }));
    expect(floe.monitoring.alarms).toHaveLength(1);
    expect(floe.alarms).toContain(floe.monitoring.alarms[0]);
    Template.fromStack(stack).hasResourceProperties("AWS::CloudWatch::Alarm", {
      Threshold: 0.05,
      EvaluationPeriods: 3,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [{ Ref: Match.stringLikeRegexp("Alerts") }],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "failed / (completed + failed)" }),
        Match.objectLike({
          Id: "failed",
          MetricStat: Match.objectLike({ Metric: { Namespace: "floe", MetricName: "Failed", Dimensions: [{ Name: "Deployment", Value: "Watched/Floe" }] }, Stat: "Sum" }),
        }),
        Match.objectLike({ Id: "completed", MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: "Completed" }) }) }),
      ]),
    });
  });

  it("alarms per task with perTask", () => {
    const { stack, floe } = synth({ monitoring: { failureRateAlarm: { threshold: 0.2, perTask: true } } });
    expect(floe.monitoring.alarms).toHaveLength(2);
    for (const task of ["resize", "publish"]) {
      Template.fromStack(stack).hasResourceProperties("AWS::CloudWatch::Alarm", {
        Threshold: 0.2,
        Metrics: Match.arrayWith([
          Match.objectLike({ Id: "failed", MetricStat: Match.objectLike({ Metric: Match.objectLike({ Dimensions: [{ Name: "Deployment", Value: "Watched/Floe" }, { Name: "Task", Value: task }] }) }) }),
        ]),
      });
    }
  });

  it("refuses bad monitoring props in one error, naming each and the fix", () => {
    expect(() =>
      synth({ tracing: "on" as unknown as boolean, monitoring: { metrics: false, dashboard: true, namespace: "AWS/Lambda", failureRateAlarm: { threshold: 5, periods: 0 } } }),
    ).toThrow(
      new RegExp(
        [
          "tracing must be true or false",
          'monitoring.namespace must be .* not starting with "AWS/", got "AWS/Lambda"',
          "monitoring.metrics is false, but the dashboard and the failure-rate alarm .* remove metrics: false",
          "monitoring.failureRateAlarm.threshold .* greater than 0 and below 1 \\(0.05 for 5%\\), got 5",
          "monitoring.failureRateAlarm.periods must be a whole number from 1 to 288",
        ].join("[\\s\\S]*"),
      ),
    );
  });
});

describe("Orchestrator tracing", () => {
  it("turns on X-Ray active tracing and floe's spans on every function, granting X-Ray's actions", () => {
    const { floe } = synth({ tracing: true });
    for (const fn of floe.functions) {
      const { Properties } = functionOf(fn);
      expect(Properties.TracingConfig, fn.node.path).toEqual({ Mode: "Active" });
      expect(Properties.Environment.Variables[V.Tracing]).toBe("true");
      Template.fromStack(Stack.of(fn)).hasResourceProperties("AWS::IAM::Policy", {
        Roles: [{ Ref: logicalId(fn.role!) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" })]) },
      });
    }
  });

  it("leaves tracing off by default", () => {
    const { floe } = synth();
    for (const fn of floe.functions) {
      expect(functionOf(fn).Properties.TracingConfig).toBeUndefined();
      expect(functionOf(fn).Properties.Environment.Variables).not.toHaveProperty(V.Tracing);
    }
  });

  for (const pack of [AwsSolutionsChecks, ServerlessChecks]) {
    it(`keeps ${pack.name} clean with tracing, the dashboard and the alarms on`, () => {
      const { stack } = synth((s) => ({ tracing: true, monitoring: { dashboard: true, failureRateAlarm: { threshold: 0.1, perTask: true, topic: new sns.Topic(s, "Alerts", { enforceSSL: true }) } } }));
      const report = new pack().validateScope(stack);
      expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.resourceLogicalId).join(",")}`)).toEqual([]);
    });
  }
});
