/**
 * The Orchestrator: floe in AWS as one construct. It reads the tasks the tasks module
 * defines (at synth time) and creates, per task, a queue, a dead-letter queue and a worker
 * function, in nested stacks (task-groups.ts); and once, the executions table with its
 * stream and the coordinator on it, the dead-letter handler on every dead-letter queue,
 * the payload bucket, the HTTP API and alarms. Names and variables match what the handlers
 * in `functions/` read.
 */
import { ArnFormat, Duration, Fn, NestedStack, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { resolve } from "node:path";
import { COORDINATOR_EVENTS, EnvironmentVariable, RECONCILE_EVERY_MINUTES, workerLogGroupPrefix } from "../sdk/aws/contract.ts";
import { Handler, findProjectRoot } from "./bundling.ts";
import { dataAccess, grantData, payloadPrefix, type DataAccess } from "./data-access.ts";
import { FloeFunction } from "./floe-function.ts";
import { OrchestratorApi, type RouteAccess } from "./orchestrator-api.ts";
import type { OrchestratorProps } from "./orchestrator-props.ts";
import { executionsTable } from "./executions-table.ts";
import { runEventsBus } from "./run-events.ts";
import { acknowledgeDesignFindings, acknowledgeTaskQueues, acknowledgeXRay } from "./nag-acknowledgements.ts";
import { WorkflowSchedule, grantPause } from "./schedules.ts";
import { WakeSchedules } from "./wakes.ts";
import { readTaskDefinitions, type TaskSummary } from "./task-definitions.ts";
import { taskGroupOf } from "./task-groups.ts";
import { TaskWorker } from "./task-worker.ts";
import { OrchestratorMonitoring, enableMetrics, enableTracing } from "./monitoring.ts";
import { defaultNamePrefix, resolveProps } from "./validate-props.ts";

/** The coordinator's and the dead-letter handler's timeout, in seconds. */
const backgroundTimeoutSeconds = 60;

/** What an SQS event source needs of its queue (as `grantConsumeMessages` grants). */
const consumeActions = ["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] as const;

/** The functions `connect` connected, each to its orchestrator. */
const connections = new WeakMap<lambda.Function, { readonly orchestrator: Orchestrator; readonly grant: iam.Grant }>();

/**
 * floe's serverless orchestrator: one queue and worker function per task, the executions
 * table and its coordinator, the dead-letter handler, the payload bucket and the HTTP API.
 *
 * @example
 * const floe = new Orchestrator(this, "Floe", {
 *   tasksModule: fileURLToPath(new URL("../src/tasks.ts", import.meta.url)),
 *   taskOverrides: { resize_image: { memorySizeMb: 2048, timeoutSeconds: 120 } },
 * });
 * floe.grantStart(otherFunction);
 */
export class Orchestrator extends Construct {
  /** The tasks and workflows the tasks module defines, as read at synth time. */
  public readonly definitions: readonly TaskSummary[];
  /** Each task's queue, dead-letter queue and worker function, by task name. */
  public readonly tasks: ReadonlyMap<string, TaskWorker>;
  /** Execution records and dependency edges; its stream feeds the coordinator. */
  public readonly table: dynamodb.Table;
  /** Arguments, results and errors too large for the table. */
  public readonly bucket: s3.Bucket;
  /** Releases the dependents of finished executions, from the table's stream. */
  public readonly coordinator: NodejsFunction;
  /**
   * The bus the coordinator publishes completion events to (at least once; dedupe on the
   * detail's `eventId`), the default bus unless `runEvents.bus` is given. A rule on it:
   * ```ts
   * new events.Rule(stack, "RunFailed", {
   *   eventBus: orchestrator.runEvents,
   *   eventPattern: { source: ["floe"], detailType: ["Run Failed"] },
   *   targets: [new targets.SnsTopic(alerts)],
   * });
   * ```
   */
  public readonly runEvents: events.IEventBus;
  /** Stream records the coordinator gave up on, for inspection and replay. */
  public readonly coordinatorFailures: sqs.Queue;
  /** Marks executions whose messages were dead-lettered as failed. */
  public readonly deadLetterHandler: NodejsFunction;
  /** Serves the HTTP API. */
  public readonly apiHandler: NodejsFunction;
  /** Sends again, on a schedule, the first message of a run that never left. */
  public readonly reconciler: NodejsFunction;
  /** Every function of the orchestrator: each task's worker, then the coordinator, the dead-letter handler, the API's handler and the reconciler. */
  public get functions(): NodejsFunction[] {
    return [...this.taskFunctions, this.coordinator, this.deadLetterHandler, this.apiHandler, this.reconciler];
  }

  /** Each task's worker function. */
  public get taskFunctions(): NodejsFunction[] {
    return [...this.tasks.values()].map((t) => t.function);
  }

  /** The reconciler's schedule. */
  public readonly reconcileSchedule: events.Rule;
  /** The HTTP API, its stage and access logs. */
  public readonly api: OrchestratorApi;
  /** Wake-ups past SQS's 15 minutes: the Scheduler group floe's functions make one-time schedules in, and their role (`infra/wakes.ts`). */
  public readonly wakes: WakeSchedules;
  /** The schedule of each scheduled workflow, by its name (`infra/schedules.ts`). */
  public readonly schedules: ReadonlyMap<string, WorkflowSchedule>;
  /** The prefix of the task queues' names, `<namePrefix>-<task>`; dead-letter queues are `<namePrefix>_<task>`. */
  public readonly namePrefix: string;
  /** The ARN pattern of every task queue (`<namePrefix>-*`): what roles that send are granted. */
  public readonly taskQueueArns: string;
  /** The ARN pattern of every dead-letter queue (`<namePrefix>_*`): what the dead-letter handler consumes. */
  public readonly deadLetterQueueArns: string;
  /** The nested stacks holding the tasks, up to 40 each, a task's stack chosen by its name (see task-groups.ts). */
  public readonly taskStacks: readonly NestedStack[];
  /** A task's queue URL is this followed by the task's name (`FLOE_QUEUE_URL_PREFIX`). */
  public readonly queueUrlPrefix: string;
  /** The alarms: one per dead-letter queue, two on the coordinator, and the failure-rate alarms of `monitoring`. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /**
   * The workers' metrics (namespace `floe`, dimensions `Deployment` = this construct's path,
   * and `Task`): the dashboard and failure-rate alarms `props.monitoring` asked for, and
   * `metric()` and `failureRate()` to build graphs and alarms of your own.
   */
  public readonly monitoring: OrchestratorMonitoring;
  /** The environment of floe's functions that is not task-specific: what `connect` sets. */
  readonly #connection: Readonly<Record<string, string>>;

  /**
   * @param scope - the parent
   * @param id - the construct id
   * @param props - the tasks module and the settings
   * @throws Error listing every conflicting or out-of-range prop, each by name
   */
  constructor(scope: Construct, id: string, props: OrchestratorProps) {
    super(scope, id);
    const tasksModule = resolve(props.tasksModule);
    this.definitions = readTaskDefinitions(tasksModule);
    const resolved = resolveProps(props, this.definitions);
    const projectRoot = props.projectRoot ?? findProjectRoot(resolve(tasksModule, ".."));
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const common = { tasksModule, projectRoot, logRetention, removalPolicy };
    this.namePrefix = props.namePrefix ?? defaultNamePrefix(this);

    this.table = executionsTable(this, "Table", removalPolicy);
    this.bucket = new s3.Bucket(this, "Payloads", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
      lifecycleRules: [
        {
          id: "payloads",
          prefix: payloadPrefix,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          expiration: props.executionRetentionDays === undefined ? undefined : Duration.days(props.executionRetentionDays),
        },
      ],
    });

    this.coordinatorFailures = new sqs.Queue(this, "CoordinatorFailures", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Queue URLs are <sqs endpoint>/<account>/<name>: take the endpoint and account from a
    // queue's real URL, so the prefix is right in any partition and on LocalStack.
    const url = Fn.split("/", this.coordinatorFailures.queueUrl);
    this.queueUrlPrefix = Fn.join("", [Fn.select(0, url), "//", Fn.select(2, url), "/", Fn.select(3, url), `/${this.namePrefix}-`]);
    // Grants name the queues by pattern, so that no policy grows with the number of tasks.
    this.taskQueueArns = Stack.of(this).formatArn({ service: "sqs", resource: `${this.namePrefix}-*` });
    this.deadLetterQueueArns = Stack.of(this).formatArn({ service: "sqs", resource: `${this.namePrefix}_*` });
    const environment: Readonly<Record<string, string>> = {
      [EnvironmentVariable.TableName]: this.table.tableName,
      [EnvironmentVariable.BucketName]: this.bucket.bucketName,
      [EnvironmentVariable.QueueUrlPrefix]: this.queueUrlPrefix,
      ...(props.executionRetentionDays === undefined ? {} : { [EnvironmentVariable.RetentionDays]: String(props.executionRetentionDays) }),
    };
    this.#connection = environment;
    // floe's own functions may wake a long delay with a schedule; a connected function
    // sends a re-delayed message, which the task's worker turns into a schedule.
    this.wakes = new WakeSchedules(this, "Wakes", { namePrefix: this.namePrefix, taskQueueArns: this.taskQueueArns });
    const functionEnvironment = { ...environment, ...this.wakes.environment };
    const background = (id: string, handler: Handler, description: string) =>
      new FloeFunction(this, id, { ...common, memorySizeMb: 512, timeoutSeconds: backgroundTimeoutSeconds, environment: functionEnvironment, handler, description })
        .function;

    this.coordinator = background("Coordinator", Handler.Coordinator, "floe coordinator: releases the dependents of finished executions");
    this.coordinator.addEventSource(this.#streamSource());
    this.runEvents = runEventsBus(this, this.coordinator, props.runEvents);
    this.deadLetterHandler = background(
      "DeadLetterHandler",
      Handler.DeadLetter,
      "floe dead-letter handler: fails executions whose messages were dead-lettered",
    );
    iam.Grant.addToPrincipal({ grantee: this.deadLetterHandler, actions: [...consumeActions], resourceArns: [this.deadLetterQueueArns] });

    const tasks = new Map<string, TaskWorker>();
    const groups = new Map<number, NestedStack>();
    const groupOf = (name: string): NestedStack => {
      const group = taskGroupOf(name);
      const stack = groups.get(group) ?? new NestedStack(this, `Tasks${group}`, { description: `floe tasks of ${this.node.path}, group ${group}` });
      groups.set(group, stack);
      return stack;
    };
    for (const [name, settings] of resolved.tasks) {
      tasks.set(
        name,
        new TaskWorker(groupOf(name), name, {
          ...common,
          taskName: name,
          queueName: `${this.namePrefix}-${name}`,
          deadLetterQueueName: `${this.namePrefix}_${name}`,
          deadLetterHandler: this.deadLetterHandler,
          settings,
          maxReceiveCount: resolved.maxReceiveCount,
          deadLetterTimeoutSeconds: backgroundTimeoutSeconds,
          environment: functionEnvironment,
          logGroupName: `${workerLogGroupPrefix(this.namePrefix)}${name}`,
          ...(props.workerLogLevel === undefined ? {} : { logLevel: lambda.ApplicationLogLevel[props.workerLogLevel] }),
        }),
      );
    }
    this.tasks = tasks;
    this.taskStacks = [...groups.entries()].sort(([a], [b]) => a - b).map(([, stack]) => stack);

    this.reconciler = background("Reconciler", Handler.Reconciler, "floe reconciler: sends again the message of executions left queued");
    this.reconcileSchedule = new events.Rule(this, "ReconcileSchedule", {
      description: "Runs the floe reconciler",
      schedule: events.Schedule.rate(Duration.minutes(RECONCILE_EVERY_MINUTES)),
      targets: [new targets.LambdaFunction(this.reconciler, { retryAttempts: 2 })],
    });

    // API Gateway waits at most 30 s; a long poll lasts at most 25.
    this.apiHandler = new FloeFunction(this, "ApiHandler", {
      ...common,
      handler: Handler.Api,
      description: "floe HTTP API",
      memorySizeMb: 512,
      timeoutSeconds: 29,
      environment: functionEnvironment,
    }).function;
    this.api = new OrchestratorApi(this, "Api", {
      handler: this.apiHandler,
      jwtIssuer: props.jwtIssuer,
      jwtAudience: props.jwtAudience,
      jwtScopes: resolved.jwtScopes,
      rateLimitPerSecond: props.apiRateLimitPerSecond ?? 100,
      burstLimit: props.apiBurstLimit ?? 200,
      callbackRateLimitPerSecond: resolved.callbackThrottle.rateLimitPerSecond,
      callbackBurstLimit: resolved.callbackThrottle.burstLimit,
      logRetention,
      removalPolicy,
    });

    // External executions' callback URLs start with it. The API's id is all the functions
    // reference, and the API references none of them: no cycle.
    for (const fn of [...this.taskFunctions, this.apiHandler]) fn.addEnvironment(EnvironmentVariable.ApiUrl, this.api.url);
    // Each role gets what its function's code path uses: the coordinator, say, no payloads.
    for (const fn of [...this.taskFunctions, this.apiHandler]) this.grantDataAccess(fn);
    this.#grantLogReads(this.apiHandler);
    this.#grantData(this.coordinator, dataAccess.coordinator);
    this.#grantData(this.deadLetterHandler, dataAccess.deadLetter);
    this.#grantData(this.reconciler, dataAccess.reconciler);
    this.monitoring = this.#monitoring(props);
    this.alarms = [...[...tasks.values()].map((t) => t.deadLetterAlarm), ...this.#coordinatorAlarms(), ...this.monitoring.alarms];
    this.schedules = new Map(
      this.definitions.flatMap((d) =>
        d.schedule === undefined ? [] : [[d.name, new WorkflowSchedule(this, `Schedule_${d.name}`, { workflow: d.name, spec: d.schedule, target: this.apiHandler, namePrefix: this.namePrefix })] as const],
      ),
    );
    for (const fn of this.functions) this.wakes.grantCreate(fn);
    for (const schedule of this.schedules.values()) grantPause(schedule, this.apiHandler);
    if (this.schedules.size > 0) {
      const names = Object.fromEntries([...this.schedules].map(([workflow, s]) => [workflow, s.scheduleName]));
      this.apiHandler.addEnvironment(EnvironmentVariable.WorkflowSchedules, JSON.stringify(names));
    }
    acknowledgeDesignFindings(this);
  }

  /** The workers' metrics, the dashboard and alarms, and tracing, as `props` ask. */
  #monitoring(props: OrchestratorProps): OrchestratorMonitoring {
    const { metrics, namespace = "floe", dashboard, failureRateAlarm } = props.monitoring ?? {};
    const deployment = this.node.path;
    if (metrics !== false) enableMetrics(this.taskFunctions, namespace, deployment);
    if (props.tracing === true) {
      enableTracing(this.functions);
      // The coordinator's role holds a Resource::* of its own (ListStreams), acknowledged with it.
      for (const fn of this.functions) if (fn !== this.coordinator) acknowledgeXRay(fn.role!);
    }
    const tasks = [...this.tasks.keys()].map((name) => ({ name, queueName: `${this.namePrefix}-${name}`, deadLetterQueueName: `${this.namePrefix}_${name}` }));
    return new OrchestratorMonitoring(this, "Monitoring", { namespace, deployment, tasks, dashboard: dashboard === true, failureRateAlarm });
  }

  /**
   * Connects a function of your own to this orchestrator, so that its top-level calls
   * (`processOrder.submit(...)`, `result`, `cancel`) run on the deployed orchestrator: sets
   * the variables that name its table, bucket and task queues (`EnvironmentVariable`;
   * nothing task-specific), by which floe's SDK knows it is connected, and grants what the
   * engine does with them ({@link grantDataAccess}).
   *
   * Connecting a function again to the same orchestrator changes nothing. A function of
   * another stack in the same account and region works, through CDK's cross-stack
   * references.
   *
   * @example
   * const api = new NodejsFunction(this, "ShopApi", { entry: "src/shop-api.ts" });
   * floe.connect(api);
   *
   * @param fn - the function to connect
   * @returns the grant
   * @throws Error when `fn` is connected to another orchestrator, or deployed to another account or region
   */
  connect(fn: lambda.Function): iam.Grant {
    const connected = connections.get(fn);
    if (connected !== undefined) {
      if (connected.orchestrator === this) return connected.grant;
      throw new Error(
        `connect: ${fn.node.path} is connected to the orchestrator ${connected.orchestrator.node.path} already, and a function ` +
          `runs one orchestrator's engine; to start workflows of ${this.node.path} from it, call its HTTP API (grantStart)`,
      );
    }
    const [own, theirs] = [Stack.of(this), Stack.of(fn)];
    const differs = (a: string, b: string) => !Token.isUnresolved(a) && !Token.isUnresolved(b) && a !== b;
    if (differs(own.account, theirs.account) || differs(own.region, theirs.region)) {
      throw new Error(
        `connect: ${fn.node.path} is deployed to ${theirs.account}/${theirs.region} and the orchestrator ${this.node.path} to ` +
          `${own.account}/${own.region}; a connected function reaches the table and queues directly, so deploy it to the same ` +
          "account and region, or call the orchestrator's HTTP API (grantStart)",
      );
    }
    for (const [name, value] of Object.entries(this.#connection)) fn.addEnvironment(name, value);
    const grant = this.grantDataAccess(fn);
    if (fn.role !== undefined) acknowledgeTaskQueues(fn.role, this.taskQueueArns);
    connections.set(fn, { orchestrator: this, grant });
    return grant;
  }

  /**
   * Lets `grantee` run floe's engine on this orchestrator's resources, as the task workers
   * and the API's handler do: read and write the executions table, query its indexes, send
   * to every task queue, read and write payloads. For code that submits or reads executions
   * in process.
   *
   * @param grantee - the principal to grant to
   * @returns the grant
   */
  grantDataAccess(grantee: iam.IGrantable): iam.Grant {
    return this.#grantData(grantee, dataAccess.engine);
  }

  /**
   * Lets the API read task logs back (`GET /executions/{id}/logs`): `logs:FilterLogEvents`
   * on the worker log groups only, named by their prefix, one resource however many tasks
   * there are; and tells it the prefix.
   */
  #grantLogReads(api: NodejsFunction): void {
    const prefix = workerLogGroupPrefix(this.namePrefix);
    api.addEnvironment(EnvironmentVariable.WorkerLogGroupPrefix, prefix);
    iam.Grant.addToPrincipal({ grantee: api, actions: ["logs:FilterLogEvents"], resourceArns: [this.workerLogGroupArns] });
  }

  /** The ARN pattern of the worker log groups, `/floe/<namePrefix>/workers/*`. */
  get workerLogGroupArns(): string {
    return Stack.of(this).formatArn({ service: "logs", resource: "log-group", resourceName: `${workerLogGroupPrefix(this.namePrefix)}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  #grantData(grantee: iam.IGrantable, access: DataAccess): iam.Grant {
    return grantData(grantee, access, { table: this.table, taskQueueArns: this.taskQueueArns, bucket: this.bucket });
  }

  /**
   * Lets `grantee` start workflows through the HTTP API (`POST /workflows/{name}/executions`).
   * @param grantee - the principal to grant to
   * @returns the grant
   * @throws Error when the API uses a JWT authorizer, where IAM grants do not apply
   */
  grantStart(grantee: iam.IGrantable): iam.Grant {
    return this.#grantInvoke(grantee, "grantStart", "start", [["POST", "/workflows/*/executions"]]);
  }

  /**
   * Lets `grantee` read executions and runs through the HTTP API (the `GET` routes).
   * @param grantee - the principal to grant to
   * @returns the grant
   * @throws Error when the API uses a JWT authorizer, where IAM grants do not apply
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.#grantInvoke(grantee, "grantRead", "read", [["GET", "/executions/*"], ["GET", "/runs"], ["GET", "/runs/*"], ["GET", "/workflows"]]);
  }

  /**
   * Lets `grantee` cancel executions through the HTTP API (`POST /executions/{id}/cancel`),
   * and a workflow's runs in a state (`POST /workflows/{name}/cancel`).
   * @param grantee - the principal to grant to
   * @returns the grant
   * @throws Error when the API uses a JWT authorizer, where IAM grants do not apply
   */
  grantCancel(grantee: iam.IGrantable): iam.Grant {
    return this.#grantInvoke(grantee, "grantCancel", "cancel", [["POST", "/executions/*/cancel"], ["POST", "/workflows/*/cancel"]]);
  }

  /**
   * Lets `grantee` re-run failed or cancelled runs through the HTTP API
   * (`POST /executions/{id}/rerun`), and nothing else.
   * @param grantee - the principal to grant to
   * @returns the grant
   * @throws Error when the API uses a JWT authorizer, where IAM grants do not apply
   */
  grantRerun(grantee: iam.IGrantable): iam.Grant {
    return this.#grantInvoke(grantee, "grantRerun", "rerun", [["POST", "/executions/*/rerun"]]);
  }

  /**
   * Lets `grantee` complete external executions through the HTTP API
   * (`POST /executions/{id}/complete`), and nothing else. The callback route needs no grant.
   * @param grantee - the principal to grant to
   * @returns the grant
   * @throws Error when the API uses a JWT authorizer, where IAM grants do not apply
   */
  grantComplete(grantee: iam.IGrantable): iam.Grant {
    return this.#grantInvoke(grantee, "grantComplete", "complete", [["POST", "/executions/*/complete"]]);
  }

  #grantInvoke(grantee: iam.IGrantable, method: string, access: RouteAccess, routes: readonly (readonly [string, string])[]): iam.Grant {
    if (this.api.jwtScopes !== undefined) {
      throw new Error(
        `${method}: the HTTP API of ${this.node.path} uses a JWT authorizer, so IAM grants do not let anyone in; ` +
          `issue tokens with the scope ${this.api.jwtScopes[access].join(" or ")} instead`,
      );
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ["execute-api:Invoke"],
      resourceArns: routes.map(([verb, path]) => this.api.httpApi.arnForExecuteApi(verb, path, "$default")),
    });
  }

  /** The coordinator's stream source: only transitions into a terminal state reach it. */
  #streamSource(): DynamoEventSource {
    const terminal = ["completed", "failed", "cancelled"];
    const newImage = { type: { S: ["execution"] }, state: { S: terminal } };
    return new DynamoEventSource(this.table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: COORDINATOR_EVENTS.batchSize,
      maxBatchingWindow: Duration.seconds(COORDINATOR_EVENTS.batchingWindowSeconds),
      bisectBatchOnError: true,
      retryAttempts: COORDINATOR_EVENTS.retryAttempts,
      maxRecordAge: Duration.days(1),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.coordinatorFailures),
      filters: [
        lambda.FilterCriteria.filter({ eventName: ["INSERT"], dynamodb: { NewImage: newImage } }),
        lambda.FilterCriteria.filter({
          eventName: ["MODIFY"],
          dynamodb: { NewImage: newImage, OldImage: { state: { S: [{ "anything-but": terminal }] } } },
        }),
      ],
    });
  }

  #coordinatorAlarms(): cloudwatch.Alarm[] {
    const atLeastOne = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    return [
      this.coordinator.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }).createAlarm(this, "CoordinatorErrors", {
        ...atLeastOne,
        alarmDescription: "The floe coordinator failed: releases are retried, but see its logs",
      }),
      this.coordinatorFailures
        .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM })
        .createAlarm(this, "CoordinatorGaveUp", {
          ...atLeastOne,
          alarmDescription: "The floe coordinator gave up on stream records: their dependents may wait until released by hand",
        }),
    ];
  }
}
