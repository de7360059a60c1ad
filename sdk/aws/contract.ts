/**
 * What the CDK construct (`infra/`) and the Lambda handlers (`functions/`) agree on, and
 * nothing else: the handlers' file names, the executions table's definition, the
 * environment variables the construct sets and the handlers read, and the event sources'
 * settings. The construct refers to the handlers by path and imports only this file, so
 * synth loads no handler code (nor the AWS SDK: the one import here is a type).
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/** floe's handlers, by file name in `functions/`. */
export const Handler = { Worker: "worker", Api: "api", Coordinator: "coordinator", DeadLetter: "dead-letter", Reconciler: "reconciler" } as const;
export type Handler = (typeof Handler)[keyof typeof Handler];

/** The environment variables the construct sets on floe's functions and on functions it connects. */
export const EnvironmentVariable = {
  TableName: "FLOE_TABLE_NAME",
  BucketName: "FLOE_BUCKET_NAME",
  /** A task's queue URL is this prefix followed by the task's name. */
  QueueUrlPrefix: "FLOE_QUEUE_URL_PREFIX",
  /** The module that defines the tasks, imported at cold start (unbundled handlers only). */
  TasksModule: "FLOE_TASKS_MODULE",
  SuspendAfterMs: "FLOE_SUSPEND_AFTER_MS",
  VisibilityTimeoutSeconds: "FLOE_VISIBILITY_TIMEOUT_SECONDS",
  RetentionDays: "FLOE_RETENTION_DAYS",
  InlineFanIn: "FLOE_INLINE_FAN_IN",
  /** The EventBridge bus the coordinator publishes completion events to; unset, none are published. */
  RunEventsBus: "FLOE_RUN_EVENTS_BUS",
  /** The HTTP API's URL: the base of external executions' callback URLs; unset, they are relative. */
  ApiUrl: "FLOE_API_URL",
  /** The Scheduler group of wake-ups past SQS's 15 minutes; unset (with the two below), long delays are re-delayed messages. */
  WakeScheduleGroup: "FLOE_WAKE_SCHEDULE_GROUP",
  /** The role a wake-up's schedule sends to the task's queue with. */
  WakeRoleArn: "FLOE_WAKE_ROLE_ARN",
  /** A task's queue ARN is this prefix followed by the task's name. */
  QueueArnPrefix: "FLOE_QUEUE_ARN_PREFIX",
  /** The API's: the workflows' Scheduler schedules, as JSON `{ "<workflow>": "<schedule name>" }` in the default group, for pause and resume. */
  WorkflowSchedules: "FLOE_WORKFLOW_SCHEDULES",
  /** The API's: a task's worker writes its log lines to the log group named this prefix followed by the task's name; unset, the API reads no logs. */
  WorkerLogGroupPrefix: "FLOE_WORKER_LOG_GROUP_PREFIX",
  /** The workers': the CloudWatch namespace of their per-task metrics (EMF lines); unset, none are written. */
  MetricsNamespace: "FLOE_METRICS_NAMESPACE",
  /** The workers': the `Deployment` dimension of their metrics. */
  MetricsDeployment: "FLOE_METRICS_DEPLOYMENT",
  /** `true`: every attempt runs inside an OpenTelemetry span, and submissions keep a `traceparent`. */
  Tracing: "FLOE_TRACING",
} as const;

/**
 * The prefix of the worker log groups' names (`FLOE_WORKER_LOG_GROUP_PREFIX`): a task's
 * worker writes to `/floe/<namePrefix>/workers/<task>`. Named, not generated, so that the
 * API reads them, and is granted `logs:FilterLogEvents` on them, by one prefix however many
 * tasks there are.
 *
 * @param namePrefix - the orchestrator's name prefix (the queues')
 */
export function workerLogGroupPrefix(namePrefix: string): string {
  return `/floe/${namePrefix}/workers/`;
}

/**
 * The stream event source's batching, shared by the CDK construct and the local cloud
 * (both also filter the stream to transitions into a terminal state): batches are gathered
 * for up to a second. A batch holds at most 99 records, so the releases it makes into one
 * join fit one transaction (100 items, the join included): a join of 10,000 takes about a
 * hundred writes.
 */
export const COORDINATOR_EVENTS = {
  batchSize: 99,
  batchingWindowSeconds: 1,
  /** Tries of a failed batch after the first, before its records go to the failure queue. */
  retryAttempts: 10,
} as const;

/** The schedule the CDK construct gives the reconciler, in minutes. */
export const RECONCILE_EVERY_MINUTES = 10;

/**
 * The widest fan-in a worker releases itself after a completion, for latency; the edges
 * into a wider join are released by the coordinator, grouped per stream batch, so a join
 * of 10,000 is about a hundred writes to its item instead of 10,000.
 */
export const INLINE_FAN_IN = 8;

/**
 * How often a running attempt reads its own record to learn of a cancellation through the
 * API, which runs in another Lambda: a consistent read of a record under 4 KB every 5 s is
 * 720 read units per running hour, $0.00009 (0.15% of a 1 GB Lambda's hour); a task that
 * ends sooner reads nothing.
 */
export const CANCEL_POLL_MS = 5_000;

/**
 * The executions table: its keys, key-only indexes and stream. The store and the local
 * cloud create it from this, and the CDK construct builds the same (the item layout is
 * described in dynamodb-execution-store.ts).
 *
 * @param tableName - the table's name
 * @returns the input of a `CreateTable` request
 */
export function executionTableDefinition(tableName: string): CreateTableCommandInput {
  const index = (name: string, pk: string, sk: string) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: pk, KeyType: "HASH" as const },
      { AttributeName: sk, KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "KEYS_ONLY" as const },
  });
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "S" },
      { AttributeName: "rootTask", AttributeType: "S" },
      { AttributeName: "root", AttributeType: "S" },
      { AttributeName: "createdAt", AttributeType: "N" },
      { AttributeName: "qs", AttributeType: "S" },
      { AttributeName: "qdue", AttributeType: "N" },
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      index("byWorkflow", "rootTask", "createdAt"),
      // Every run newest first. One partition: only roots are written to it.
      index("byStart", "root", "createdAt"),
      // Sparse: only queued roots have its keys (see the store's comment).
      index("byQueued", "qs", "qdue"),
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
  };
}
