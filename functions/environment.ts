/**
 * What the Lambda handlers read from their environment, once per cold start: the table,
 * bucket and queues the CDK construct created, and the module that defines the tasks.
 * Endpoints come from the AWS SDK's own configuration (`AWS_ENDPOINT_URL` and the
 * per-service variables), so the same handlers run against AWS, LocalStack or emulators.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "../sdk/zod.ts";
import { DynamoDbExecutionStore } from "../sdk/aws/dynamodb-execution-store.ts";
import { S3BlobStore } from "../sdk/aws/s3-blob-store.ts";
import { SqsTaskQueue } from "../sdk/aws/sqs-task-queue.ts";
import { Runtime } from "../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../sdk/runtime/system.ts";

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

const environmentSchema = z.object({
  FLOE_TABLE_NAME: z.string().check(z.minLength(1, { error: "FLOE_TABLE_NAME must name the executions table" })),
  FLOE_BUCKET_NAME: z.string().check(z.minLength(1, { error: "FLOE_BUCKET_NAME must name the payload bucket" })),
  // The URL format as a check on a string, not z.url() alone: a missing variable keeps
  // zod's "expected string" message instead of claiming the value is a malformed URL.
  FLOE_QUEUE_URL_PREFIX: z
    .string()
    .check(z.url({ error: "FLOE_QUEUE_URL_PREFIX must be a URL: a task's queue URL is this prefix followed by the task's name" })),
  FLOE_TASKS_MODULE: z.optional(z.string().check(z.minLength(1))),
  FLOE_SUSPEND_AFTER_MS: z._default(z.coerce.number().check(z.int(), z.minimum(0)), 100),
  FLOE_VISIBILITY_TIMEOUT_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 900),
  FLOE_RETENTION_DAYS: z.optional(z.coerce.number().check(z.int(), z.minimum(1))),
  FLOE_INLINE_FAN_IN: z._default(z.coerce.number().check(z.int(), z.minimum(0)), INLINE_FAN_IN),
  AWS_ENDPOINT_URL: z.optional(z.string()),
  AWS_ENDPOINT_URL_S3: z.optional(z.string()),
});

/** The handlers' settings, validated. */
export type Environment = z.infer<typeof environmentSchema> & { readonly pathStyle: boolean };

/**
 * Reads and validates the environment.
 * @throws Error naming every missing or malformed variable
 */
export function readEnvironment(env: Record<string, string | undefined> = process.env): Environment {
  const parsed = environmentSchema.safeParse(env);
  if (parsed.success) {
    const pathStyle = parsed.data.AWS_ENDPOINT_URL_S3 !== undefined || parsed.data.AWS_ENDPOINT_URL !== undefined;
    return { ...parsed.data, pathStyle };
  }
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`floe handler misconfigured: ${problems.join("; ")} (the Orchestrator construct sets these)`);
}

let runtime: Promise<Runtime> | undefined;

/** The runtime of this Lambda, made on first use and kept for the container's life. */
export function runtimeFromEnvironment(): Promise<Runtime> {
  runtime ??= create(readEnvironment());
  return runtime;
}

async function create(env: Environment): Promise<Runtime> {
  // Tasks register themselves when their module is imported.
  if (env.FLOE_TASKS_MODULE !== undefined) await import(env.FLOE_TASKS_MODULE);
  // Every write floe makes is conditional or idempotent, so retrying more than the SDK's
  // default three attempts is safe, and rides out bursts of throttling.
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 6 }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return new Runtime({
    store: new DynamoDbExecutionStore({ client: dynamodb, tableName: env.FLOE_TABLE_NAME, retentionDays: env.FLOE_RETENTION_DAYS }),
    queue: new SqsTaskQueue({ client: new SQSClient({}), queueUrl: (task) => `${env.FLOE_QUEUE_URL_PREFIX}${task}` }),
    // Emulators serve buckets by path; AWS by host name.
    blobs: new S3BlobStore({ client: new S3Client({ forcePathStyle: env.pathStyle }), bucket: env.FLOE_BUCKET_NAME }),
    clock: systemClock,
    ids: cryptoIds,
    suspendAfterMs: env.FLOE_SUSPEND_AFTER_MS,
    takeOverAfterMs: env.FLOE_VISIBILITY_TIMEOUT_SECONDS * 1000,
    inlineFanIn: env.FLOE_INLINE_FAN_IN,
    cancelPollMs: CANCEL_POLL_MS,
  });
}

/**
 * A Lambda entry point: the handler `make` builds over the environment's runtime, built
 * on the first event and kept for the container's life.
 */
export function entryPoint<E, R>(make: (runtime: Runtime) => (event: E) => Promise<R>): (event: E) => Promise<R> {
  let built: Promise<(event: E) => Promise<R>> | undefined;
  return async (event) => {
    built ??= runtimeFromEnvironment().then(make);
    return (await built)(event);
  };
}
