/**
 * The runtime of one function on the AWS code path: the one factory behind every Lambda
 * handler (`functions/environment.ts`), every function of the local cloud and a function
 * connected to an orchestrator. Each call makes a runtime of its own, with no in-memory
 * state shared with any other: as in Lambda, where every function is its own process.
 *
 * Endpoints come from the AWS SDK's own configuration (`AWS_ENDPOINT_URL` and the
 * per-service variables) unless clients are given, so the same code runs against AWS,
 * LocalStack or emulators.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { BlobStore, Clock, ExecutionStore, TaskQueue } from "../engine/ports.ts";
import { Runtime, type RuntimeOptions } from "../runtime/runtime.ts";
import { cryptoIds, systemClock } from "../runtime/system.ts";
import { CANCEL_POLL_MS, EnvironmentVariable as V } from "./contract.ts";
import type { Environment } from "./environment.ts";
import { DynamoDbExecutionStore } from "./dynamodb-execution-store.ts";
import { S3BlobStore } from "./s3-blob-store.ts";
import { SqsTaskQueue } from "./sqs-task-queue.ts";
import { WakeScheduler } from "./scheduled-wakes.ts";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { LogSink } from "../logs/execution-logs.ts";
import { StdoutLogSink } from "../logs/stdout-log-sink.ts";
import { CloudWatchLogReader } from "./cloudwatch-log-reader.ts";
import { EmfMetrics } from "./emf-metrics.ts";

export { readEnvironment, type Environment } from "./environment.ts";

/** The AWS clients a runtime uses; made from the SDK's configuration when not given. */
export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  /** For wake-ups past 15 minutes, when the environment names a wake schedule group. */
  readonly scheduler?: SchedulerClient;
}

/** What a host of functions (the local cloud) adds to {@link createAwsRuntime}. */
export interface AwsRuntimeHooks {
  /** The clients, shared by the host's functions (connections are not state a function sees). */
  readonly clients?: AwsClients;
  /** Wraps the task queue (the local cloud creates queues on first use). */
  readonly queue?: (queue: TaskQueue) => TaskQueue;
  /** Overrides the queue URL of a task (the local cloud's queues are created on first use). */
  readonly queueUrl?: (taskName: string) => string;
  /** Told of every terminal transition this runtime writes. */
  readonly onTerminal?: (id: string) => void;
  /** Called, and awaited, when the runtime closes. */
  readonly onClose?: () => unknown;
  /** How top-level waits read the store again (a client that runs no task: see `RuntimeOptions.pollTopLevel`). */
  readonly pollTopLevel?: RuntimeOptions["pollTopLevel"];
  /** The runtime's clock (the local cloud's, which tests move): the system's in Lambda. */
  readonly clock?: Clock;
  /**
   * Where the lines of tasks go, and whether they are printed too: a JSON line each on
   * stdout in Lambda; the function's log group on the local cloud's Logs endpoint.
   */
  readonly logSink?: LogSink;
  readonly echoLogs?: boolean;
  /** The CloudWatch Logs client the API reads task logs with: made from the SDK's configuration when not given. */
  readonly logsClient?: CloudWatchLogsClient;
}

/**
 * Makes the runtime of one function from its settings.
 *
 * @param env - the function's settings ({@link readEnvironment})
 * @param hooks - what a host of several functions shares or adds; none in Lambda
 */
export function createAwsRuntime(env: Environment, hooks: AwsRuntimeHooks = {}): Runtime {
  const clock = hooks.clock ?? systemClock;
  const namespace = env[V.MetricsNamespace];
  return new Runtime({
    ...createAwsPorts(env, hooks),
    clock,
    ids: cryptoIds,
    suspendAfterMs: env[V.SuspendAfterMs],
    takeOverAfterMs: env[V.VisibilityTimeoutSeconds] * 1000,
    inlineFanIn: env[V.InlineFanIn],
    cancelPollMs: CANCEL_POLL_MS,
    ...(env[V.ApiUrl] === undefined ? {} : { callbackBaseUrl: env[V.ApiUrl] }),
    ...(hooks.onTerminal === undefined ? {} : { onTerminal: hooks.onTerminal }),
    ...(hooks.onClose === undefined ? {} : { onClose: hooks.onClose }),
    ...(hooks.pollTopLevel === undefined ? {} : { pollTopLevel: hooks.pollTopLevel }),
    logs: { sink: hooks.logSink ?? new StdoutLogSink(), reader: logReader(env, hooks), echo: hooks.echoLogs ?? false },
    ...(env[V.Tracing] === "true" ? { tracing: true } : {}),
    ...(namespace === undefined ? {} : { watchers: [new EmfMetrics({ namespace, deployment: env[V.MetricsDeployment] ?? "floe", now: () => clock.now() })] }),
  });
}

/** The API's reader of the workers' log groups, when the environment names them. */
function logReader(env: Environment, hooks: AwsRuntimeHooks): CloudWatchLogReader | undefined {
  const prefix = env[V.WorkerLogGroupPrefix];
  if (prefix === undefined) return undefined;
  const clock = hooks.clock ?? systemClock;
  // Only the API reads logs: the other functions never load this client.
  const client = hooks.logsClient ?? (async () => new (await import("@aws-sdk/client-cloudwatch-logs")).CloudWatchLogsClient({}));
  return new CloudWatchLogReader({ client, logGroupOf: (task) => `${prefix}${task}`, now: () => clock.now() });
}

/** The ports of a runtime on the AWS code path. */
export interface AwsPorts {
  readonly store: ExecutionStore;
  readonly queue: TaskQueue;
  readonly blobs: BlobStore;
}

/**
 * Makes the store, queue and blob store of {@link createAwsRuntime}: for a runtime built
 * before they are (a connected function's, which loads the AWS SDK at its first request).
 *
 * @param env - the function's settings ({@link readEnvironment})
 * @param hooks - the clients and queue overrides of {@link AwsRuntimeHooks}
 */
export function createAwsPorts(env: Environment, hooks: Pick<AwsRuntimeHooks, "clients" | "queue" | "queueUrl" | "clock"> = {}): AwsPorts {
  const clients = hooks.clients ?? {
    // Every write floe makes is conditional or idempotent, so retrying more than the SDK's
    // default three attempts is safe, and rides out bursts of throttling.
    dynamodb: new DynamoDBClient({ maxAttempts: 6 }),
    sqs: new SQSClient({}),
    // Emulators serve buckets by path; AWS by host name.
    s3: new S3Client({ forcePathStyle: env.pathStyle }),
  };
  const dynamodb = DynamoDBDocumentClient.from(clients.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const prefix = env[V.QueueUrlPrefix];
  const sqs = new SqsTaskQueue({ client: clients.sqs, queueUrl: hooks.queueUrl ?? ((task) => `${prefix}${task}`), wakes: wakeScheduler(env, clients, hooks.clock) });
  return {
    store: new DynamoDbExecutionStore({ client: dynamodb, tableName: env[V.TableName], retentionDays: env[V.RetentionDays] }),
    queue: hooks.queue?.(sqs) ?? sqs,
    blobs: new S3BlobStore({ client: clients.s3, bucket: env[V.BucketName] }),
  };
}

/** The Scheduler wake-ups the environment configures, or none (long delays are then re-delayed messages). */
function wakeScheduler(env: Environment, clients: AwsClients, clock: Clock | undefined): WakeScheduler | undefined {
  const [groupName, roleArn, arnPrefix] = [env[V.WakeScheduleGroup], env[V.WakeRoleArn], env[V.QueueArnPrefix]];
  if (groupName === undefined || roleArn === undefined || arnPrefix === undefined) return undefined;
  return new WakeScheduler({
    client: clients.scheduler ?? new SchedulerClient({}),
    groupName,
    roleArn,
    queueArn: (task) => `${arnPrefix}${task}`,
    now: () => (clock ?? systemClock).now(),
  });
}
