/**
 * What the Orchestrator offers to watch it: the workers' per-task metrics (embedded metric
 * format lines, `sdk/aws/emf-metrics.ts`), a CloudWatch dashboard over them and the task
 * queues, alarms on the failure rate, and X-Ray active tracing with OpenTelemetry spans.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { EnvironmentVariable } from "../sdk/aws/contract.ts";
import type { FailureRateAlarmProps } from "./orchestrator-props.ts";

/** The period of every graph and alarm. */
const PERIOD = Duration.minutes(5);
/** The most lines one graph of per-queue figures shows; more queues get more graphs. */
const QUEUES_PER_GRAPH = 50;

/** The props of an {@link OrchestratorMonitoring}. */
export interface OrchestratorMonitoringProps {
  /** The metrics' namespace. */
  readonly namespace: string;
  /** The `Deployment` dimension the workers write. */
  readonly deployment: string;
  /** Every task's name, its queue's and its dead-letter queue's. */
  readonly tasks: readonly { readonly name: string; readonly queueName: string; readonly deadLetterQueueName: string }[];
  /** Whether to make the dashboard. */
  readonly dashboard: boolean;
  /** The failure-rate alarm, if any. */
  readonly failureRateAlarm?: FailureRateAlarmProps | undefined;
}

/** The dashboard and the failure-rate alarms of an orchestrator. */
export class OrchestratorMonitoring extends Construct {
  /** The dashboard, when asked for. */
  public readonly dashboard: cloudwatch.Dashboard | undefined;
  /** The failure-rate alarms: one for the deployment, or one per task. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  readonly #o: OrchestratorMonitoringProps;

  /**
   * @param scope - the Orchestrator
   * @param id - the construct id
   * @param props - what to watch
   */
  constructor(scope: Construct, id: string, props: OrchestratorMonitoringProps) {
    super(scope, id);
    this.#o = props;
    this.dashboard = props.dashboard ? this.#dashboard() : undefined;
    this.alarms = props.failureRateAlarm === undefined ? [] : this.#failureRateAlarms(props.failureRateAlarm);
  }

  /** One of floe's figures, for the whole deployment or for one task. */
  metric(name: string, statistic: string, task?: string): cloudwatch.Metric {
    const { namespace, deployment } = this.#o;
    return new cloudwatch.Metric({
      namespace,
      metricName: name,
      dimensionsMap: task === undefined ? { Deployment: deployment } : { Deployment: deployment, Task: task },
      statistic,
      period: PERIOD,
      label: task === undefined ? `${name} ${statistic}` : `${task} ${statistic}`,
    });
  }

  /** The failure rate: failed / (completed + failed) over each period, for the deployment or one task. */
  failureRate(task?: string): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: "failed / (completed + failed)",
      usingMetrics: { failed: this.metric("Failed", "Sum", task), completed: this.metric("Completed", "Sum", task) },
      period: PERIOD,
      label: task === undefined ? "failure rate" : `${task} failure rate`,
    });
  }

  /** A line per task, found by a search: the graph follows tasks added later without a change here. */
  #perTask(name: string, statistic: string): cloudwatch.MathExpression {
    const { namespace, deployment } = this.#o;
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${namespace},Deployment,Task} MetricName="${name}" Deployment="${deployment}"', '${statistic}', ${PERIOD.toSeconds()})`,
      usingMetrics: {},
      period: PERIOD,
      label: "",
    });
  }

  #dashboard(): cloudwatch.Dashboard {
    const graph = (title: string, left: cloudwatch.IMetric[]) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
    const percentiles = (name: string) => ["p50", "p90", "p99"].map((p) => this.metric(name, p));
    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      graph("Attempts, whole deployment", ["Started", "Completed", "Failed", "Retried"].map((name) => this.metric(name, "Sum"))),
      graph("Duration (ms), whole deployment", percentiles("Duration")),
      graph("Queue wait (ms), whole deployment", percentiles("QueueWait")),
    );
    dashboard.addWidgets(
      graph("Started per task", [this.#perTask("Started", "Sum")]),
      graph("Completed per task", [this.#perTask("Completed", "Sum")]),
      graph("Failed per task", [this.#perTask("Failed", "Sum")]),
    );
    dashboard.addWidgets(
      graph("Duration p90 (ms) per task", [this.#perTask("Duration", "p90")]),
      graph("Queue wait p90 (ms) per task", [this.#perTask("QueueWait", "p90")]),
      graph("Retried per task", [this.#perTask("Retried", "Sum")]),
    );
    const queues = (metricName: string, queueName: (t: OrchestratorMonitoringProps["tasks"][number]) => string) =>
      this.#o.tasks.map(
        (t) => new cloudwatch.Metric({ namespace: "AWS/SQS", metricName, dimensionsMap: { QueueName: queueName(t) }, statistic: "Maximum", period: PERIOD, label: t.name }),
      );
    const ages = queues("ApproximateAgeOfOldestMessage", (t) => t.queueName);
    const depths = queues("ApproximateNumberOfMessagesVisible", (t) => t.deadLetterQueueName);
    for (let i = 0; i < ages.length; i += QUEUES_PER_GRAPH) {
      const part = ages.length > QUEUES_PER_GRAPH ? ` (${i / QUEUES_PER_GRAPH + 1})` : "";
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({ title: `Oldest queued message age (s)${part}`, left: ages.slice(i, i + QUEUES_PER_GRAPH), width: 12, height: 6 }),
        new cloudwatch.GraphWidget({ title: `Dead-letter queue depth${part}`, left: depths.slice(i, i + QUEUES_PER_GRAPH), width: 12, height: 6 }),
      );
    }
    return dashboard;
  }

  #failureRateAlarms(props: FailureRateAlarmProps): cloudwatch.Alarm[] {
    const scopes: (string | undefined)[] = props.perTask === true ? this.#o.tasks.map((t) => t.name) : [undefined];
    return scopes.map((task) => {
      const alarm = this.failureRate(task).createAlarm(this, task === undefined ? "FailureRate" : `FailureRate_${task}`, {
        alarmDescription:
          `More than ${props.threshold * 100}% of ${task === undefined ? "the executions" : `task ${task}'s executions`} that ended ` +
          `failed (no retry left), over ${props.periods ?? 1} period(s) of 5 minutes; see the failed runs with floe inspect`,
        threshold: props.threshold,
        evaluationPeriods: props.periods ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No execution ended: nothing failed.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (props.topic !== undefined) alarm.addAlarmAction(new actions.SnsAction(props.topic));
      return alarm;
    });
  }
}

/**
 * Tells the workers to write their metrics: their namespace and the deployment's name.
 * @param workers - the task functions
 */
export function enableMetrics(workers: readonly lambda.Function[], namespace: string, deployment: string): void {
  for (const fn of workers) {
    fn.addEnvironment(EnvironmentVariable.MetricsNamespace, namespace);
    fn.addEnvironment(EnvironmentVariable.MetricsDeployment, deployment);
  }
}

/**
 * X-Ray active tracing on `functions`, and OpenTelemetry spans per attempt in their code
 * (`FLOE_TRACING`), with what CDK grants for `Tracing.ACTIVE`.
 * @param functions - every function of the orchestrator
 */
export function enableTracing(functions: readonly lambda.Function[]): void {
  for (const fn of functions) {
    (fn.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: "Active" };
    fn.addEnvironment(EnvironmentVariable.Tracing, "true");
    iam.Grant.addToPrincipal({ grantee: fn, actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resourceArns: ["*"] });
  }
}
