/**
 * One task in AWS: its queue, the queue's dead-letter queue, the worker function the queue
 * feeds, reporting partial batch failures, and the mapping of the dead-letter queue to the
 * orchestrator's dead-letter handler: all in the task's nested stack, so that nothing in
 * the parent stack grows with the number of tasks.
 */
import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { Handler } from "./bundling.ts";
import { FloeFunction } from "./floe-function.ts";
import type { TaskSettings } from "./validate-props.ts";

/** The props of a {@link TaskWorker}. */
export interface TaskWorkerProps {
  readonly taskName: string;
  /** The queue's name: what `FLOE_QUEUE_URL_PREFIX` + the task's name points at. */
  readonly queueName: string;
  /** The dead-letter queue's name: the dead-letter handler may consume every queue so named. */
  readonly deadLetterQueueName: string;
  /** The orchestrator's dead-letter handler, whose role is granted elsewhere, by name pattern. */
  readonly deadLetterHandler: lambda.IFunction;
  readonly settings: TaskSettings;
  readonly maxReceiveCount: number;
  /** The dead-letter handler's timeout: its queue's visibility timeout is six times this. */
  readonly deadLetterTimeoutSeconds: number;
  readonly tasksModule: string;
  readonly projectRoot: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The worker's log group, `<FLOE_WORKER_LOG_GROUP_PREFIX><task>`: where the API reads the task's lines. */
  readonly logGroupName: string;
  /** Lambda's application log level for the task's JSON lines. @default Lambda's */
  readonly logLevel?: lambda.ApplicationLogLevel;
}

/** A task's queue, dead-letter queue and worker function. */
export class TaskWorker extends Construct {
  /** The queue that feeds the worker: one message per attempt to run. */
  public readonly queue: sqs.Queue;
  /** Where a message goes after `maxReceiveCount` deliveries that never finished. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The worker function. */
  public readonly function: NodejsFunction;
  /** Feeds the dead-letter queue to the orchestrator's dead-letter handler. */
  public readonly deadLetterMapping: lambda.EventSourceMapping;
  /** The worker's log group. */
  public readonly logGroup: logs.LogGroup;
  /** Fires when messages wait in the dead-letter queue: the dead-letter handler is failing. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  /**
   * @param scope - the parent
   * @param id - the construct id (the task's name)
   * @param props - the task and its settings
   */
  constructor(scope: Construct, id: string, props: TaskWorkerProps) {
    super(scope, id);
    const { settings } = props;
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      queueName: props.deadLetterQueueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(6 * props.deadLetterTimeoutSeconds),
    });
    this.queue = new sqs.Queue(this, "Queue", {
      queueName: props.queueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(settings.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    const worker = new FloeFunction(this, "Worker", {
      handler: Handler.Worker,
      tasksModule: props.tasksModule,
      projectRoot: props.projectRoot,
      description: `floe worker of task ${props.taskName}`,
      memorySizeMb: settings.memorySizeMb,
      timeoutSeconds: settings.timeoutSeconds,
      reservedConcurrency: settings.reservedConcurrency,
      // A message redelivered after the visibility timeout takes over the attempt.
      environment: { ...props.environment, FLOE_VISIBILITY_TIMEOUT_SECONDS: String(settings.visibilityTimeoutSeconds) },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      logGroupName: props.logGroupName,
      // A task's log lines are JSON (sdk/logs/): Lambda keeps them as written and filters them by level.
      jsonLogs: { applicationLogLevel: props.logLevel },
    });
    this.function = worker.function;
    this.logGroup = worker.logGroup;
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: settings.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: settings.maxConcurrency,
      }),
    );
    // Not the handler's addEventSource: that would list every dead-letter queue's ARN in its
    // role's policy, which overflows IAM's size limit past a few dozen tasks.
    this.deadLetterMapping = new lambda.EventSourceMapping(this, "DeadLetters", {
      target: props.deadLetterHandler,
      eventSourceArn: this.deadLetterQueue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    this.deadLetterAlarm = this.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM })
      .createAlarm(this, "DeadLetterAlarm", {
        alarmDescription:
          `Messages of task ${props.taskName} wait in its dead-letter queue: the dead-letter handler ` +
          "should have drained them (marking their executions failed); see its logs",
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }
}
