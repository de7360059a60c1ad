/**
 * A user's function connected to an orchestrator (its table, bucket and queue prefix in its
 * environment, as `orchestrator.connect(fn)` sets them), run as a process of its own against
 * the emulators: a top-level `submit` goes to the table and the task's queue and runs
 * nothing in that process; `result()` reads the table until a worker has run it; `cancel`
 * writes to the table.
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulators, type Emulators } from "floe/local-cloud";
import { createAwsRuntime, readEnvironment } from "../../sdk/aws/aws-runtime.ts";
import { executionTableDefinition } from "../../sdk/aws/contract.ts";
import { decodeMessage } from "../../sdk/aws/sqs-task-queue.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { bareEnvironment, runScript } from "../support/child.ts";
import "../fixtures/top-level/tasks.ts";

const script = "test/fixtures/top-level/submit.ts";
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

let emulators: Emulators;
let sqs: SQSClient;
let queueUrl = "";
let connected: Record<string, string>;
/** The orchestrator's side: a worker's runtime over the same table, queues and bucket. */
let orchestrator: Runtime;

beforeAll(async () => {
  emulators = await startEmulators();
  const { dynamodb, sqs: sqsEndpoint, s3 } = emulators.endpoints;
  const ddb = new DynamoDBClient({ endpoint: dynamodb, region: "us-east-1", credentials });
  await ddb.send(new CreateTableCommand(executionTableDefinition("conn-executions")));
  const s3Client = new S3Client({ endpoint: s3, region: "us-east-1", credentials, forcePathStyle: true });
  await s3Client.send(new CreateBucketCommand({ Bucket: "conn-blobs" }));
  sqs = new SQSClient({ endpoint: sqsEndpoint, region: "us-east-1", credentials });
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "conn-conn_double" }))).QueueUrl ?? "";
  connected = {
    ...bareEnvironment,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_S3: s3,
    AWS_LAMBDA_FUNCTION_NAME: "checkout",
    FLOE_TABLE_NAME: "conn-executions",
    FLOE_BUCKET_NAME: "conn-blobs",
    FLOE_QUEUE_URL_PREFIX: queueUrl.slice(0, queueUrl.length - "conn_double".length),
  };
  orchestrator = createAwsRuntime(readEnvironment(connected), { clients: { dynamodb: ddb, sqs, s3: s3Client } });
}, 120_000);

afterAll(async () => {
  await orchestrator?.close();
  sqs?.destroy();
  await emulators?.stop();
});

async function receive(): Promise<ReturnType<typeof decodeMessage>[]> {
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }));
  return (received.Messages ?? []).map((m) => decodeMessage(m.Body ?? ""));
}

describe("a function connected to an orchestrator", () => {
  it("submits at top level to the table and the task's queue, and its result() reads the table", async () => {
    const child = runScript(script, [], connected);
    const submitted = await child.next();
    expect(submitted.state).toBe("queued");
    const id = String(submitted.id);
    expect(await orchestrator.getExecution(id)).toMatchObject({ id, taskName: "conn_double", state: "queued" });
    const messages = await receive();
    expect(messages).toEqual([{ executionId: id, taskName: "conn_double", attempt: 1 }]);
    // The orchestrator's worker runs it; only the table tells the function.
    await orchestrator.process(messages[0]!);
    expect(await child.next()).toEqual({ result: 42, awsSdkLoaded: true });
  }, 30_000);

  it("cancels in the table", async () => {
    const child = runScript(script, ["cancel"], connected);
    const { id } = await child.next();
    expect(await child.next()).toMatchObject({ state: "cancelled" });
    expect(await orchestrator.getExecution(String(id))).toMatchObject({ state: "cancelled" });
    // Its message is still delivered, and dropped by the worker that claims nothing.
    for (const message of await receive()) await orchestrator.process(message);
    expect(await orchestrator.getExecution(String(id))).toMatchObject({ state: "cancelled" });
  }, 30_000);
});
