/** The props of the {@link Orchestrator} construct and of each task's function. */
import type { RemovalPolicy } from "aws-cdk-lib";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { RunEventsProps } from "./run-events.ts";

/** Settings of one task's worker function and its queue; each overrides the orchestrator's default. */
export interface TaskFunctionProps {
  /**
   * The function's memory, 128 to 10,240 MB.
   * @default the orchestrator's `memorySizeMb`
   */
  readonly memorySizeMb?: number;
  /**
   * The function's timeout, 1 to 900 seconds; the queue's visibility timeout is six times this.
   * Must exceed the task's own `timeoutMs`.
   * @default the orchestrator's `timeoutSeconds`, or the task's `timeoutMs` plus 30 s when longer
   */
  readonly timeoutSeconds?: number;
  /**
   * Messages per invocation, 1 to 10; they run concurrently in one invocation.
   * @default the orchestrator's `batchSize`
   */
  readonly batchSize?: number;
  /**
   * How many concurrent invocations the queue's event source may start, 2 to 1,000.
   * @default the orchestrator's `maxConcurrency`
   */
  readonly maxConcurrency?: number;
  /**
   * Concurrency reserved for (and limiting) this function; at least `maxConcurrency` when both are set.
   * @default none reserved
   */
  readonly reservedConcurrency?: number;
}

/**
 * The scopes a JWT must carry for each kind of route of the HTTP API. API Gateway lets a
 * request in when its token holds any one of the route's scopes.
 */
export interface JwtScopes {
  /**
   * Scopes for `POST /workflows/{name}/executions`.
   * @default ["floe/start"]
   */
  readonly start?: readonly string[];
  /**
   * Scopes for the `GET` routes: executions, results and runs.
   * @default ["floe/read"]
   */
  readonly read?: readonly string[];
  /**
   * Scopes for `POST /executions/{id}/cancel` and `POST /workflows/{name}/cancel` (a
   * workflow's runs in a state).
   * @default ["floe/cancel"]
   */
  readonly cancel?: readonly string[];
  /**
   * Scopes for `POST /executions/{id}/complete` (an external execution's result or error).
   * `POST /callbacks/{token}` takes no token: its path is its secret.
   * @default ["floe/complete"]
   */
  readonly complete?: readonly string[];
  /**
   * Scopes for `POST /executions/{id}/rerun` (a failed or cancelled run run again).
   * @default ["floe/rerun"]
   */
  readonly rerun?: readonly string[];
}

/** An alarm on the share of executions that failed (no retry left) among those that ended. */
export interface FailureRateAlarmProps {
  /** Fires above this share, greater than 0 and below 1: `0.05` is 5%. */
  readonly threshold: number;
  /**
   * How many 5-minute periods in a row must be above the threshold, 1 to 288.
   * @default 1
   */
  readonly periods?: number;
  /**
   * Where the alarm is sent when it fires.
   * @default no action: the alarm only changes state
   */
  readonly topic?: ITopic;
  /**
   * One alarm per task instead of one for the whole deployment (each alarm is billed).
   * @default false
   */
  readonly perTask?: boolean;
}

/** The workers' metrics, the dashboard and the alarms (see `Orchestrator.monitoring`). */
export interface MonitoringProps {
  /**
   * Whether the workers write their per-task metrics (embedded metric format lines in
   * their logs: log ingestion, and six custom metrics per task plus six for the deployment).
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * The metrics' CloudWatch namespace.
   * @default "floe"
   */
  readonly namespace?: string;
  /**
   * A CloudWatch dashboard: attempts, durations and queue waits, for the deployment and per
   * task, the age of each task queue's oldest message and each dead-letter queue's depth.
   * @default false
   */
  readonly dashboard?: boolean;
  /**
   * An alarm on the failure rate, failed / (completed + failed).
   * @default no alarm
   */
  readonly failureRateAlarm?: FailureRateAlarmProps;
}

/** The props of an {@link Orchestrator}. */
export interface OrchestratorProps {
  /**
   * Absolute path of the module that defines the tasks and workflows (importing it registers
   * them). It is imported at synth time to list them, and bundled into each worker and the API.
   */
  readonly tasksModule: string;
  /**
   * Per-task settings, by task name; every name must be a task the module defines.
   * @default none: every task gets the defaults below
   */
  readonly taskOverrides?: Readonly<Record<string, TaskFunctionProps>>;
  /**
   * Memory of each worker function, in MB.
   * @default 512
   */
  readonly memorySizeMb?: number;
  /**
   * Timeout of each worker function, in seconds.
   * @default 60
   */
  readonly timeoutSeconds?: number;
  /**
   * Messages per worker invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Concurrent invocations each task queue's event source may start.
   * @default 50
   */
  readonly maxConcurrency?: number;
  /**
   * Deliveries of a task message before it moves to the task's dead-letter queue (at least 5:
   * fewer would dead-letter messages that a throttled batch merely returned).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Prefix of the task queues' names: a task's queue is `<namePrefix>-<task>`. At most 15
   * characters, so that every valid task name fits SQS's 80.
   * @default `floe-` and a digest of the stack's name and this construct's path, unique in the account and region
   */
  readonly namePrefix?: string;
  /**
   * Issuer URL of a JWT authorizer for the HTTP API (Cognito, Auth0, …). Without it the API
   * uses IAM authorisation: callers sign requests with SigV4.
   * @default IAM authorisation
   */
  readonly jwtIssuer?: string;
  /**
   * Audiences the JWT authorizer accepts; required with `jwtIssuer`.
   * @default none
   */
  readonly jwtAudience?: readonly string[];
  /**
   * With `jwtIssuer`, the scopes a token must carry for each kind of route, so that a token
   * issued to read cannot start or cancel. Each kind left out keeps its default.
   * @default `floe/start`, `floe/read`, `floe/cancel`, `floe/complete` and `floe/rerun`
   */
  readonly jwtScopes?: JwtScopes;
  /**
   * Steady request rate the HTTP API allows, per second.
   * @default 100
   */
  readonly apiRateLimitPerSecond?: number;
  /**
   * Burst of requests the HTTP API allows.
   * @default 200
   */
  readonly apiBurstLimit?: number;
  /**
   * Steady request rate of `POST /callbacks/{token}`, per second: the route external
   * executions' callback URLs call, without AWS credentials or a JWT, throttled on its own so
   * that a flood of forged tokens cannot use up the rest of the API's rate. At most
   * `apiRateLimitPerSecond`.
   * @default 10, or `apiRateLimitPerSecond` when lower
   */
  readonly callbackRateLimitPerSecond?: number;
  /**
   * Burst of requests `POST /callbacks/{token}` allows. At most `apiBurstLimit`.
   * @default 20, or `apiBurstLimit` when lower
   */
  readonly callbackBurstLimit?: number;
  /**
   * Days after which executions are deleted: their records and edges by the table's
   * `expiresAt` TTL attribute (the functions get it as `FLOE_RETENTION_DAYS` and write it on
   * every new item), their large payloads by the bucket's lifecycle rule.
   * @default records and payloads are kept
   */
  readonly executionRetentionDays?: number;
  /**
   * The level below which Lambda drops the log lines of tasks (`log.debug` and
   * `console.debug` are DEBUG; `console.log` is INFO): the workers' application log level
   * in Lambda's JSON log format.
   * @default Lambda's default for the JSON format (INFO)
   */
  readonly workerLogLevel?: "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "FATAL";
  /**
   * Retention of every log group the construct creates.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the table, the bucket and the log groups when they leave the stack.
   * `DESTROY` also empties the bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Folder the functions are bundled from: it holds the lock file and `node_modules`.
   * @default the nearest folder above `tasksModule` with a lock file
   */
  readonly projectRoot?: string;
  /**
   * Where the coordinator publishes completion events (`Run Completed`, `Run Failed`,
   * `Run Cancelled`, `Execution Failed`, source `floe`): see `Orchestrator.runEvents`.
   * @default the account's default bus
   */
  readonly runEvents?: RunEventsProps;
  /**
   * The workers' metrics, a dashboard and failure-rate alarms.
   * @default metrics on, in namespace `floe`; no dashboard, no alarm
   */
  readonly monitoring?: MonitoringProps;
  /**
   * X-Ray active tracing on every function, and an OpenTelemetry span per attempt whose
   * parent is the span that submitted the execution. floe's code uses only
   * `@opentelemetry/api`: add an SDK and exporter to the functions (the ADOT Lambda layer).
   * @default false
   */
  readonly tracing?: boolean;
}
