/**
 * The local cloud: floe's AWS code path with no account. DynamoDB Local, an SQS server and
 * an S3 server stand in for the services (or emulators already running, given by
 * endpoint); the table, queues, dead-letter queues and bucket are created from the same
 * definitions the CDK stack uses; and Lambda's event sources are emulated: each task queue
 * is polled and its batches handed to the real worker handler as `SQSEvent`s, and the
 * table's stream is read and handed to the real coordinator as `DynamoDBStreamEvent`s.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import S3rver from "s3rver";
import { COORDINATOR_EVENTS, createCoordinatorHandler, finishedIn } from "../../functions/coordinator.ts";
import { createDeadLetterHandler } from "../../functions/dead-letter.ts";
import { createWorkerHandler } from "../../functions/worker.ts";
import { CANCEL_POLL_MS, INLINE_FAN_IN } from "../../functions/environment.ts";
import { RECONCILE_EVERY_MINUTES, createReconcilerHandler } from "../../functions/reconciler.ts";
import { DynamoDbExecutionStore, executionTableDefinition } from "../aws/dynamodb-execution-store.ts";
import { S3BlobStore } from "../aws/s3-blob-store.ts";
import { SqsTaskQueue } from "../aws/sqs-task-queue.ts";
import { definitionsList } from "../define/registry.ts";
import { Runtime } from "../runtime/runtime.ts";
import { cryptoIds, systemClock } from "../runtime/system.ts";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import { EnsuringTaskQueue, QueuePoller, QueueSetOnSqs } from "./queue-poller.ts";
import { StreamPoller } from "./stream-poller.ts";

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
   * concurrency, for the whole stack).
   * @default 64
   */
  readonly concurrency?: number;
  /**
   * How long `result()` inside a task waits before the task suspends.
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
   * Called with the AWS clients before they are used: add middleware to them, to count
   * requests or inject faults.
   */
  readonly instrument?: (clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client }) => void;
}

/** The local cloud: an engine on the AWS code path. `close()` stops everything it started. */
export type LocalCloud = Runtime;

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
 */
export async function startEmulators(given: Partial<Endpoints> = {}): Promise<Emulators> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const env = process.env;
    const pick = (service: string, value: string | undefined) => value ?? env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
    let dynamodb = pick("DYNAMODB", given.dynamodb);
    if (dynamodb === undefined) {
      const local = await startDynamoDbLocal();
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
      const directory = await mkdtemp(join(tmpdir(), "floe-s3-"));
      const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
      const { port } = await server.run();
      stops.push(async () => {
        await server.close();
        await rm(directory, { recursive: true, force: true });
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
 * @returns an engine with the embedded engine's interface; `close()` stops it all
 * @example
 * const cloud = await startLocalCloud();
 * console.log(await cloud.submit(processOrder, "u1", "p1").result());
 * await cloud.close();
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const emulators = await startEmulators(options.endpoints);
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
  options.instrument?.({ dynamodb, sqs, s3 });
  try {
    await dynamodb.send(new CreateTableCommand(executionTableDefinition(tableName)));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const queues = new QueueSetOnSqs(sqs, {
      prefix,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount: options.maxReceiveCount ?? 5,
    });
    await Promise.all(definitionsList().map((definition) => queues.ensure(definition.name)));
    let stopPollers = async (): Promise<void> => undefined;
    const runtime = new Runtime({
      store: new DynamoDbExecutionStore({
        client: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
        tableName,
      }),
      queue: new EnsuringTaskQueue(queues, new SqsTaskQueue({ client: sqs, queueUrl: (task) => queues.url(task) }), (urls) =>
        // The poller exists before anything can be submitted.
        poller.nudge(urls),
      ),
      blobs: new S3BlobStore({ client: s3, bucket }),
      clock: systemClock,
      ids: cryptoIds,
      suspendAfterMs: options.suspendAfterMs ?? 100,
      takeOverAfterMs: (options.visibilityTimeoutSeconds ?? 30) * 1000,
      inlineFanIn: options.inlineFanIn ?? INLINE_FAN_IN,
      cancelPollMs: CANCEL_POLL_MS,
      onClose: async () => {
        await stopPollers();
        destroyClients();
        await emulators.stop();
      },
    });
    const poller = new QueuePoller({
      sqs,
      queues,
      worker: createWorkerHandler({ runtime }),
      concurrency: options.concurrency ?? 64,
    });
    const deadLetters = new QueuePoller({
      sqs,
      queues: queues.deadLetters,
      worker: createDeadLetterHandler({ engine: runtime.engine }),
      concurrency: 4,
    });
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    const stream = new StreamPoller({
      streams,
      streamArn: Table?.LatestStreamArn ?? "",
      coordinator: createCoordinatorHandler({ engine: runtime.engine }),
      filter: (record) => finishedIn(record) !== undefined,
      batchSize: COORDINATOR_EVENTS.batchSize,
      batchingWindowMs: COORDINATOR_EVENTS.batchingWindowSeconds * 1000,
    });
    // The schedule that runs the reconciler in AWS.
    const reconcile = createReconcilerHandler({ engine: runtime.engine });
    const reconciling = setInterval(() => {
      reconcile().catch((error: unknown) => console.error("floe local cloud: the reconciler failed", error));
    }, RECONCILE_EVERY_MINUTES * 60_000);
    reconciling.unref();
    stopPollers = async () => {
      clearInterval(reconciling);
      await Promise.all([poller.stop(), deadLetters.stop(), stream.stop()]);
    };
    poller.start();
    deadLetters.start();
    stream.start();
    return runtime;
  } catch (error) {
    destroyClients();
    await emulators.stop();
    throw error;
  }
}
