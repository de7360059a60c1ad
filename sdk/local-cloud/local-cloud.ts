/**
 * The local cloud: floe's AWS code path with no account. DynamoDB Local, an SQS server and
 * an S3 server stand in for the services (or emulators already running, given by
 * endpoint); the table, queues, dead-letter queues and bucket are created from the same
 * definitions the CDK stack uses; and Lambda is emulated. Each function (a worker per task,
 * the coordinator, the dead-letter handler, the reconciler, and the API, which is the
 * runtime returned) runs on runtimes of its own, made by the factory Lambda's handlers use,
 * in containers that handle one event at a time (`containers.ts`): nothing in memory is
 * shared between functions, so a task awaiting another's result suspends and is re-run, as
 * in AWS. Each task queue is polled and its batches handed to its task's worker as
 * `SQSEvent`s, and the table's stream is read, filtered and batched as the CDK construct's
 * mapping does and handed to the coordinator as `DynamoDBStreamEvent`s.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SchedulerClient } from "@aws-sdk/client-scheduler";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { createSqsServer } from "local-aws-sqs";
import S3rver from "s3rver";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createCoordinatorHandler, finishedIn } from "../../functions/coordinator.ts";
import { createDeadLetterHandler } from "../../functions/dead-letter.ts";
import { createWorkerHandler } from "../../functions/worker.ts";
import { createReconcilerHandler } from "../../functions/reconciler.ts";
import { createAwsPorts, createAwsRuntime, type Environment } from "../aws/aws-runtime.ts";
import { COORDINATOR_EVENTS, EnvironmentVariable as V, INLINE_FAN_IN, RECONCILE_EVERY_MINUTES, executionTableDefinition, workerLogGroupPrefix } from "../aws/contract.ts";
import { definitionsList } from "../define/registry.ts";
import { ErrorCode, FloeError } from "../errors.ts";
import type { Clock, TaskQueue } from "../engine/ports.ts";
import { engineOf, type Engine } from "../api/engine.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { FunctionContainers } from "./containers.ts";
import { startEventsEndpoint, type PublishedEvent } from "./events-endpoint.ts";
import type { SchedulerEndpoint } from "./scheduler-endpoint.ts";
import { startScheduling, wakeEnvironment } from "./local-wakes.ts";
import { createEventBridgePublisher, type RunEventPublisher } from "../events/publisher.ts";
import { openDataDir, resendUnfinished, type DataDir } from "./data-dir.ts";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import { EnsuringTaskQueue, QueuePoller, QueueSetOnSqs, type SqsHandler } from "./queue-poller.ts";
import { StreamPoller } from "./stream-poller.ts";
import { startLogsEndpoint, type LogsEndpoint } from "./logs-endpoint.ts";
import { jsonLine } from "../logs/log-line.ts";
import type { LogSink } from "../logs/execution-logs.ts";

/** Where the three services answer. */
export interface Endpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly s3: string;
}

/** Options of {@link startLocalCloud}. */
export interface LocalCloudOptions {
  /**
   * How many task messages may be processed at once, across every task (Lambda's
   * concurrency, for the whole stack). Each task's worker starts a container (a runtime
   * of its own) for a batch that finds every container of that task busy.
   * @default 64
   */
  readonly concurrency?: number;
  /**
   * How long `result()` inside a task waits before the task suspends, to be re-run from
   * the start once what it awaits has finished (`FLOE_SUSPEND_AFTER_MS`, as in Lambda). A
   * task is woken within this time only by a finish its own container writes: another
   * task's finish, written by another function, never wakes it.
   * @default 100
   */
  readonly suspendAfterMs?: number;
  /**
   * Endpoints of emulators already running (LocalStack, or {@link startEmulators}); the
   * services without one are started.
   * @default AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL
   */
  readonly endpoints?: Partial<Endpoints>;
  /**
   * Prefix of the table, queue and bucket names, so several local clouds can share emulators.
   * @default "floe"
   */
  readonly prefix?: string;
  /**
   * A task message is delivered again this long after a failed or unfinished attempt.
   * @default 30
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Deliveries of one message before it moves to its dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * The widest fan-in a worker releases itself; the coordinator releases wider ones,
   * grouped per stream batch, as in Lambda.
   * @default 8
   */
  readonly inlineFanIn?: number;
  /**
   * How often the client reads again the executions its top-level `result()` calls await.
   * Each function tells the client of the finishes it writes, at no cost; this is the
   * backstop for a finish no function of this process wrote (another process on the same
   * emulators), and costs a read per awaited execution each time.
   * @default 2000
   * @throws FloeError `FLOE_INVALID_OPTION` from {@link startLocalCloud} unless positive
   */
  readonly resultRecheckMs?: number;
  /**
   * Every attempt runs inside an OpenTelemetry span whose parent is the span that submitted
   * it, as the Orchestrator's `tracing` does in AWS (`FLOE_TRACING`).
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Called with the AWS clients before they are used: add middleware to them, to count
   * requests or inject faults.
   */
  readonly instrument?: (clients: {
    readonly dynamodb: DynamoDBClient;
    readonly sqs: SQSClient;
    readonly s3: S3Client;
    /** Set when {@link LocalCloudOptions.onRunEvent} is. */
    readonly events?: EventBridgeClient;
    /** Set unless {@link LocalCloudOptions.wakes} is `"sqs"`. */
    readonly scheduler?: SchedulerClient;
  }) => void;
  /**
   * How a message delayed past SQS's 15 minutes (a sleep, a delayed start, a long retry
   * back-off) waits, as the construct's functions do: `"scheduler"`, one EventBridge
   * Scheduler schedule at its due time, served by a local Scheduler endpoint that fires on
   * {@link LocalCloudOptions.clock}; `"sqs"`, a message delayed 15 minutes and sent again
   * each time it arrives early (a stack without Scheduler).
   * @default "scheduler"
   */
  readonly wakes?: "scheduler" | "sqs";
  /**
   * The functions' clock: what `sleep`, delayed starts and retries count from, and when the
   * local Scheduler fires. A test moves it (a month ahead, say) to see long waits end at
   * once; SQS's own delays (up to 15 minutes) still pass in real time.
   * @default the system clock
   */
  readonly clock?: Clock;
  /**
   * Told of each completion event the coordinator publishes (`sdk/events/`), as a rule on
   * the bus would be: the coordinator sends them with the real EventBridge client to a
   * local `PutEvents` endpoint. Without it, none is published, as in a stack without a bus.
   */
  readonly onRunEvent?: (event: PublishedEvent) => void;
  /**
   * Told of each invocation of a function, before it runs, by the function's name:
   * `worker:<task>`, `coordinator`, `dead-letter` or `reconciler` (what Lambda bills as
   * requests; `bench:cloud` counts them), and `scheduler` for each schedule the local
   * Scheduler fires (what Scheduler bills as an invocation).
   */
  readonly onInvoke?: (functionName: string) => void;
  /**
   * A folder to keep the tables and blobs in (created if missing), so that runs outlive the
   * process: a local cloud started later on the same folder finds them, sends again the
   * messages the SQS server lost with the previous process (which keeps them in memory),
   * and takes over the attempts that were running, as after a crash, once they are a
   * visibility timeout old. Only the emulators this call starts keep their data there.
   * @default undefined: everything in memory, gone at `close()`
   * @throws FloeError `FLOE_INVALID_OPTION` from {@link startLocalCloud} for a file, a folder that cannot be written, or one in use
   */
  readonly dataDir?: string;
  /**
   * The base of external executions' callback URLs (`<base>/callbacks/<token>`): the URL of
   * a server that hands `POST /callbacks/{token}` to this cloud (`floe dev` passes its own).
   * @default undefined: relative URLs
   */
  readonly callbackBaseUrl?: string;
  /**
   * Told of the local CloudWatch Logs endpoint once it runs: each function's lines are kept
   * in its log group there, and the API reads task logs from it with `FilterLogEvents`.
   */
  readonly onLogsEndpoint?: (endpoint: LogsEndpoint) => void;
}

/**
 * The local cloud: an {@link Engine} over the runtime of its API function (it runs no
 * task). `close()` stops everything it started.
 */
export type LocalCloud = Engine;

const region = "us-east-1";
const maxAttempts = 6;
const credentials = { accessKeyId: "local", secretAccessKey: "local" };

/** Emulators started by {@link startEmulators}. */
export interface Emulators {
  readonly endpoints: Endpoints;
  stop(): Promise<void>;
}

/**
 * Starts the emulators the local cloud needs, except those given by endpoint: DynamoDB
 * Local (Java 17), an SQS server and an S3 server, on free ports.
 *
 * @param given - endpoints of emulators already running
 * @param storage - folders for DynamoDB Local's tables and the S3 server's objects to outlive them (see `openDataDir`); in memory and a temporary folder without
 */
export async function startEmulators(given: Partial<Endpoints> = {}, storage?: { readonly dynamodb: string; readonly s3: string }): Promise<Emulators> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const env = process.env;
    const pick = (service: string, value: string | undefined) => value ?? env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
    let dynamodb = pick("DYNAMODB", given.dynamodb);
    if (dynamodb === undefined) {
      const local = await startDynamoDbLocal(storage === undefined ? {} : { dbPath: storage.dynamodb });
      stops.push(() => local.stop());
      dynamodb = local.endpoint;
    }
    let sqs = pick("SQS", given.sqs);
    if (sqs === undefined) {
      const server: Server = await createSqsServer({ port: 0, hostname: "127.0.0.1", emulateQueueCreationLifecycle: false });
      stops.push(() => new Promise((resolve) => server.close(resolve)));
      sqs = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    let s3 = pick("S3", given.s3);
    if (s3 === undefined) {
      const directory = storage?.s3 ?? (await mkdtemp(join(tmpdir(), "floe-s3-")));
      const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
      const { port } = await server.run();
      stops.push(async () => {
        await server.close();
        if (storage === undefined) await rm(directory, { recursive: true, force: true });
      });
      s3 = `http://127.0.0.1:${port}`;
    }
    return { endpoints: { dynamodb, sqs, s3 }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Starts the local cloud.
 *
 * @param options - concurrency, suspension, endpoints of running emulators
 * @returns an {@link Engine}, as `createEngine()` gives; `close()` stops it all
 * @throws FloeError `FLOE_INVALID_OPTION` for bad options
 * @example
 * const cloud = await startLocalCloud();
 * console.log(await cloud.submit(processOrder, "u1", "p1").result());
 * await cloud.close();
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  return engineOf(await startLocalCloudRuntime(options));
}

/**
 * Starts the local cloud and returns its API function's runtime itself: for floe's own
 * tools (the CLI's in-process API) and tests. Not exported by the package.
 *
 * @param options - as {@link startLocalCloud}'s
 */
export async function startLocalCloudRuntime(options: LocalCloudOptions = {}): Promise<Runtime> {
  const recheckMs = options.resultRecheckMs ?? 2_000;
  if (!(Number.isFinite(recheckMs) && recheckMs > 0)) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `resultRecheckMs must be a positive number of milliseconds, got ${String(recheckMs)}; leave it out for the default of 2000`,
    );
  }
  const data = options.dataDir === undefined ? undefined : await openDataDir(options.dataDir);
  let emulators: Emulators;
  try {
    emulators = await startEmulators(options.endpoints, data);
  } catch (error) {
    await data?.release();
    throw error;
  }
  const { endpoints } = emulators;
  const prefix = options.prefix ?? "floe";
  const tableName = `${prefix}-executions`;
  const bucket = `${prefix}-blobs`.toLowerCase();
  // Every write floe makes is conditional or idempotent, so retrying more than the SDK's
  // default three attempts is safe, and rides out bursts of throttling.
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials, maxAttempts });
  const sqs = new SQSClient({ endpoint: endpoints.sqs, region, credentials });
  // s3rver accepts only its own fixed key; other emulators accept any.
  const s3Credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  const s3 = new S3Client({ endpoint: endpoints.s3, region, credentials: s3Credentials, forcePathStyle: true });
  const streams = new DynamoDBStreamsClient({ endpoint: endpoints.dynamodb, region, credentials });
  const destroyClients = () => [dynamodb, sqs, s3, streams].forEach((client) => client.destroy());
  const stopEmulators = async () => {
    logs.destroy();
    await logsEndpoint.close();
    await emulators.stop();
    await data?.release();
  };
  const logsEndpoint = await startLogsEndpoint(options.clock === undefined ? {} : { now: () => options.clock!.now() });
  options.onLogsEndpoint?.(logsEndpoint);
  const logs = new CloudWatchLogsClient({ endpoint: logsEndpoint.url, region, credentials });
  const onRunEvent = options.onRunEvent;
  const eventsEndpoint = onRunEvent === undefined ? undefined : await startEventsEndpoint({ onEvent: onRunEvent });
  const events = eventsEndpoint === undefined ? undefined : new EventBridgeClient({ endpoint: eventsEndpoint.url, region, credentials });
  const publish = events === undefined ? undefined : createEventBridgePublisher({ busName: "default", client: events });
  let scheduling: { endpoint: SchedulerEndpoint; client: SchedulerClient } | undefined;
  // Declared before use by the Scheduler endpoint's deliveries, which start only once a schedule exists.
  let queues: QueueSetOnSqs;
  let poller: QueuePoller;
  try {
    const wakes = { prefix, region, credentials, sqs, clock: options.clock, onInvoke: options.onInvoke };
    scheduling = options.wakes === "sqs" ? undefined : await startScheduling(wakes, (task) => queues.ensure(task), (url) => poller.nudge([url]));
    const scheduler = scheduling?.client;
    options.instrument?.({ dynamodb, sqs, s3, ...(events === undefined ? {} : { events }), ...(scheduler === undefined ? {} : { scheduler }) });
    // A data folder holds the table and bucket of an earlier start.
    await dynamodb.send(new CreateTableCommand(executionTableDefinition(tableName))).catch(existing(data, "ResourceInUseException"));
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(existing(data, "BucketAlreadyOwnedByYou", "BucketAlreadyExists"));
    queues = new QueueSetOnSqs(sqs, {
      prefix,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount: options.maxReceiveCount ?? 5,
    });
    await Promise.all(definitionsList().map((definition) => queues.ensure(definition.name)));
    const env: Environment = {
      [V.TableName]: tableName,
      [V.BucketName]: bucket,
      // Not read: the queues are created on first use, and found by `queueUrl` below.
      [V.QueueUrlPrefix]: `${endpoints.sqs}/000000000000/${prefix}-`,
      [V.SuspendAfterMs]: options.suspendAfterMs ?? 100,
      [V.VisibilityTimeoutSeconds]: options.visibilityTimeoutSeconds ?? 30,
      [V.InlineFanIn]: options.inlineFanIn ?? INLINE_FAN_IN,
      ...(scheduler === undefined ? {} : wakeEnvironment(prefix)),
      ...(options.callbackBaseUrl === undefined ? {} : { [V.ApiUrl]: options.callbackBaseUrl }),
      [V.WorkerLogGroupPrefix]: workerLogGroupPrefix(prefix),
      ...(options.tracing === true ? { [V.Tracing]: "true" as const } : {}),
      pathStyle: true,
    };
    const shared = {
      clients: { dynamodb, sqs, s3, ...(scheduler === undefined ? {} : { scheduler }) },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      // The poller exists before anything can be sent.
      queue: (inner: TaskQueue) => new EnsuringTaskQueue(queues, inner, (urls) => poller.nudge(urls)),
      queueUrl: (task: string) => queues.url(task),
    };
    let stop = async (): Promise<void> => undefined;
    // The API's runtime: it runs no task. Its top-level waits are woken by the functions'
    // finishes below, and read the store again every `recheckMs`, should a finish reach it
    // by no function (one written by another process on the same emulators, or whose
    // notification's read failed).
    const client = createAwsRuntime(env, { ...shared, onClose: () => stop(), pollTopLevel: { firstMs: recheckMs, maxMs: recheckMs }, logsClient: logs });
    // Made now, as a deployment's first use would: each function reads it at its cold start.
    await client.callbackKey();
    // A function tells the client of each finish it writes, which wakes the client's
    // top-level waits without a request; no function is told of another's.
    // Each function's lines go to its log group, as Lambda sends a function's stdout; they
    // are printed too, since the console here is the user's terminal.
    const logSinkOf = (functionName: string): LogSink => {
      const task = /^worker:(.+)$/.exec(functionName)?.[1];
      const group = task === undefined ? `/aws/lambda/${prefix}-${functionName}` : `${workerLogGroupPrefix(prefix)}${task}`;
      return { write: (line) => logsEndpoint.append(group, jsonLine(line)) };
    };
    const coldStart = (functionName: string) =>
      createAwsRuntime(env, { ...shared, onTerminal: (id) => client.finishedElsewhere(id), logSink: logSinkOf(functionName), echoLogs: true });
    const functions = new LocalFunctions(coldStart, options.onInvoke, publish);
    poller = new QueuePoller({ sqs, queues, handlerFor: (url) => functions.workerOf(queues, url), concurrency: options.concurrency ?? 64 });
    const deadLetters = new QueuePoller({ sqs, queues: queues.deadLetters, handlerFor: () => (event) => functions.deadLetter.invoke(event), concurrency: 4 });
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    const stream = new StreamPoller({
      streams,
      streamArn: Table?.LatestStreamArn ?? "",
      coordinator: (event) => functions.coordinator.invoke(event),
      filter: (record) => finishedIn(record) !== undefined,
      batchSize: COORDINATOR_EVENTS.batchSize,
      batchingWindowMs: COORDINATOR_EVENTS.batchingWindowSeconds * 1000,
    });
    // The schedule that runs the reconciler in AWS.
    const reconciling = setInterval(() => {
      functions.reconciler.invoke(undefined).catch((error: unknown) => console.error("floe local cloud: the reconciler failed", error));
    }, RECONCILE_EVERY_MINUTES * 60_000);
    reconciling.unref();
    stop = async () => {
      // With a data folder, the data stays as the process leaves it, as after a crash: the
      // attempts still running are taken over at the next start, not failed by the close.
      if (data !== undefined) stopWriting(dynamodb, sqs, s3, streams);
      clearInterval(reconciling);
      // Polling stops at once; the batches in process end once their runtimes close.
      const stopping = Promise.all([poller.stop(), deadLetters.stop(), stream.stop()]);
      await functions.close();
      await stopping;
      destroyClients();
      events?.destroy();
      scheduling?.client.destroy();
      await eventsEndpoint?.close();
      await scheduling?.endpoint.close();
      await stopEmulators();
    };
    if (data !== undefined) {
      await resendUnfinished(dynamodb, tableName, createAwsPorts(env, shared).queue, env[V.VisibilityTimeoutSeconds] * 1000);
    }
    poller.start();
    deadLetters.start();
    stream.start();
    return client;
  } catch (error) {
    destroyClients();
    scheduling?.client.destroy();
    await eventsEndpoint?.close();
    await scheduling?.endpoint.close();
    await stopEmulators();
    throw error;
  }
}

/** Makes every later request of these clients fail at once, before it is sent (and retried). */
function stopWriting(...clients: { middlewareStack: { add(middleware: unknown, options: object): void } }[]): void {
  const refuse = () => () => Promise.reject(new Error("the local cloud has stopped: its data folder keeps the state it had"));
  for (const client of clients) client.middlewareStack.add(refuse, { step: "initialize", name: "floeLocalCloudStopped", priority: "high" });
}

/** Lets an error through unless a data folder is in use and it says the resource exists already. */
function existing(data: DataDir | undefined, ...names: string[]): (error: unknown) => void {
  return (error) => {
    if (data === undefined || !names.includes((error as Error).name)) throw error;
  };
}

/**
 * The local cloud's functions, each with its own containers: a worker per task, the
 * dead-letter handler, the coordinator and the reconciler.
 */
class LocalFunctions {
  readonly #coldStart: (functionName: string) => Runtime;
  readonly #workers = new Map<string, FunctionContainers<SQSEvent, SQSBatchResponse>>();
  readonly deadLetter: FunctionContainers<SQSEvent, SQSBatchResponse>;
  readonly coordinator: FunctionContainers<DynamoDBStreamEvent, DynamoDBBatchResponse>;
  readonly reconciler: FunctionContainers<undefined, { resent: string[] }>;

  readonly #onInvoke: ((functionName: string) => void) | undefined;

  /**
   * @param coldStart - makes the runtime of a new container of the function named
   * @param onInvoke - told of each invocation (see `LocalCloudOptions.onInvoke`)
   */
  constructor(coldStart: (functionName: string) => Runtime, onInvoke?: (functionName: string) => void, publish?: RunEventPublisher) {
    this.#coldStart = coldStart;
    this.#onInvoke = onInvoke;
    this.deadLetter = this.#function("dead-letter", (runtime) => createDeadLetterHandler({ engine: runtime.engine }));
    this.coordinator = this.#function("coordinator", (runtime) => createCoordinatorHandler({ engine: runtime.engine, ...(publish === undefined ? {} : { publish }) }));
    this.reconciler = this.#function("reconciler", (runtime) => createReconcilerHandler({ engine: runtime.engine }));
  }

  #function<E, R>(name: string, handler: (runtime: Runtime) => (event: E) => Promise<R>): FunctionContainers<E, R> {
    const onInvoke = this.#onInvoke;
    const coldStart = () => this.#coldStart(name);
    if (onInvoke === undefined) return new FunctionContainers(name, coldStart, handler);
    return new FunctionContainers(name, coldStart, (runtime) => {
      const handle = handler(runtime);
      return (event) => {
        onInvoke(name);
        return handle(event);
      };
    });
  }

  /** The worker of the task whose queue is `url`. */
  workerOf(queues: QueueSetOnSqs, url: string): SqsHandler {
    const task = queues.taskOf(url);
    if (task === undefined) throw new Error(`floe local cloud: ${url} is the queue of no task`);
    let worker = this.#workers.get(task);
    if (worker === undefined) {
      worker = this.#function(`worker:${task}`, (runtime) => createWorkerHandler({ runtime }));
      this.#workers.set(task, worker);
    }
    const containers = worker;
    return (event) => containers.invoke(event);
  }

  /** Closes every container of every function. */
  async close(): Promise<void> {
    await Promise.all([...this.#workers.values(), this.deadLetter, this.coordinator, this.reconciler].map((f) => f.close()));
  }
}
