/**
 * The Lambda entry points as Lambda calls them: configured only by environment variables,
 * clients pointed at the emulators by the AWS SDK's own endpoint variables.
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, SQSEvent, ScheduledEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as api } from "../../functions/api.ts";
import { readEnvironment } from "../../functions/environment.ts";
import { handler as worker } from "../../functions/worker.ts";
import { handler as reconciler } from "../../functions/reconciler.ts";
import { workflow } from "floe";
import { executionTableDefinition } from "../../sdk/aws/contract.ts";
import { startEmulators, type Emulators } from "floe/local-cloud";
import { sqsRecord } from "../support/sqs-event.ts";
import { apiEvent } from "../support/api-event.ts";

export const double = workflow("env_double", async (n: number) => n * 2);

let emulators: Emulators;
let sqs: SQSClient;
let queueUrl = "";
const saved = { ...process.env };

beforeAll(async () => {
  emulators = await startEmulators();
  const { dynamodb, sqs: sqsEndpoint, s3 } = emulators.endpoints;
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_S3: s3,
    FLOE_TABLE_NAME: "env-executions",
    FLOE_BUCKET_NAME: "env-blobs",
  });
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  const ddb = new DynamoDBClient({ endpoint: dynamodb, region: "us-east-1", credentials });
  await ddb.send(new CreateTableCommand(executionTableDefinition("env-executions")));
  ddb.destroy();
  const s3Client = new S3Client({ endpoint: s3, region: "us-east-1", credentials, forcePathStyle: true });
  await s3Client.send(new CreateBucketCommand({ Bucket: "env-blobs" }));
  s3Client.destroy();
  sqs = new SQSClient({ endpoint: sqsEndpoint, region: "us-east-1", credentials });
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "env-env_double" }))).QueueUrl ?? "";
  process.env.FLOE_QUEUE_URL_PREFIX = queueUrl.slice(0, queueUrl.length - "env_double".length);
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await emulators?.stop();
  process.env = saved;
});

function request(method: string, path: string, body?: unknown, query?: Record<string, string>): APIGatewayProxyEventV2 {
  return apiEvent(method, path, { body, query });
}

describe("Lambda entry points", () => {
  it("start a workflow through the API, run it in the worker, and read its result back", async () => {
    const started = await api(request("POST", "/workflows/env_double/executions", { args: [21] }));
    expect(started.statusCode).toBe(202);
    const { id } = JSON.parse(started.body ?? "{}") as { id: string };
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2 }));
    const [message] = received.Messages ?? [];
    const event: SQSEvent = { Records: [sqsRecord(message?.Body ?? "", message?.MessageId ?? "")] };
    expect((await worker(event)).batchItemFailures).toEqual([]);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle }));
    const result = await api(request("GET", `/executions/${id}/result`, undefined, { waitSeconds: "2" }));
    expect(JSON.parse(result.body ?? "{}")).toMatchObject({ state: "completed", result: 42 });
    // Started, and recent: the scheduled reconciler has nothing to send again.
    expect(await reconciler({ source: "aws.events", "detail-type": "Scheduled Event" } as ScheduledEvent)).toEqual({ resent: [] });
  }, 30_000);

  it("names every missing or malformed variable", () => {
    expect(() => readEnvironment({ FLOE_QUEUE_URL_PREFIX: "not a url" })).toThrow(
      /FLOE_TABLE_NAME.*FLOE_BUCKET_NAME.*FLOE_QUEUE_URL_PREFIX: FLOE_QUEUE_URL_PREFIX must be a URL/s,
    );
  });
});
