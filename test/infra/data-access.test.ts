/**
 * The coordinator's, the dead-letter handler's and the reconciler's grants against what
 * their code paths really request: each handler runs over the real AWS adapters on the
 * emulators, every request is recorded as the IAM action and resource it needs, and the
 * set is compared with the role's grants in the synthesized template. A handler that
 * starts using an action or index its role lacks (which would fail only in AWS) fails
 * here; so does a grant no request needs.
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AttributeValue, DynamoDBStreamEvent } from "aws-lambda";
import { marshall } from "@aws-sdk/util-dynamodb";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinatorHandler } from "../../functions/coordinator.ts";
import { createDeadLetterHandler } from "../../functions/dead-letter.ts";
import { createReconcilerHandler } from "../../functions/reconciler.ts";
import { FloeExamplesStack } from "../../infra/app.ts";
import { executionTableDefinition } from "../../sdk/aws/contract.ts";
import { DynamoDbExecutionStore } from "../../sdk/aws/dynamodb-execution-store.ts";
import { S3BlobStore } from "../../sdk/aws/s3-blob-store.ts";
import { encodeMessage, SqsTaskQueue } from "../../sdk/aws/sqs-task-queue.ts";
import { startEmulators, type Emulators } from "../../sdk/local-cloud/index.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import type { ExecutionRecord } from "../../sdk/engine/model.ts";
import { dataGrants } from "./example-stack.ts";
import { sqsRecord } from "../support/sqs-event.ts";

const table = "grants";
const bucket = "grants-payloads";
const prefix = "grants-";
/** Tasks of the example app, whose queues the template grants. */
const tasks = ["load_user", "load_product", "charge_card", "send_confirmation_email"];

let emulators: Emulators;
let stack: FloeExamplesStack;
let template: Template;
let now = 1_700_000_000_000;
const requests = new Set<string>();
const queueUrls = new Map<string, string>();

beforeAll(async () => {
  // The template only: its grants do not depend on the bundles.
  stack = new FloeExamplesStack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "FloeExamples");
  template = Template.fromStack(stack);
  emulators = await startEmulators();
  const { dynamodb, sqs, s3 } = clients();
  await dynamodb.send(new CreateTableCommand(executionTableDefinition(table)));
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const task of tasks) queueUrls.set(task, (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}${task}` }))).QueueUrl!);
}, 180_000);

afterAll(async () => {
  await emulators?.stop();
});

function clients() {
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  const { endpoints } = emulators;
  return {
    dynamodb: new DynamoDBClient({ endpoint: endpoints.dynamodb, region: "us-east-1", credentials }),
    sqs: new SQSClient({ endpoint: endpoints.sqs, region: "us-east-1", credentials }),
    s3: new S3Client({ endpoint: endpoints.s3, region: "us-east-1", credentials, forcePathStyle: true }),
  };
}

/** The IAM action and resource (as `dataGrants` names them) of each request. */
function permissionsOf(command: string, input: Record<string, any>): string[] {
  const operation = command.replace(/Command$/, "");
  if ("QueueUrl" in input) return [`sqs:${operation.replace(/Batch$/, "")} on queue:${String(input.QueueUrl).split(prefix)[1]}`];
  if ("Bucket" in input) return [`s3:${operation} on bucket/${String(input.Key).replace(/^payloads\/.*/, "payloads/*")}`];
  if (operation === "TransactWriteItems") {
    const items = input.TransactItems as Record<string, unknown>[];
    const of = { Put: "PutItem", Update: "UpdateItem", Delete: "DeleteItem", ConditionCheck: "ConditionCheckItem" };
    return items.map((item) => `dynamodb:${of[Object.keys(item)[0] as keyof typeof of]} on table`);
  }
  return [`dynamodb:${operation} on table${input.IndexName === undefined ? "" : `/index/${input.IndexName}`}`];
}

/** A runtime wired as a handler's (functions/environment.ts), whose requests are recorded. */
function recordedRuntime(options: { inlineFanIn?: number; blobThreshold?: number } = {}): Runtime {
  const { dynamodb, sqs, s3 } = clients();
  for (const client of [dynamodb, sqs, s3] as { middlewareStack: DynamoDBClient["middlewareStack"] }[]) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        for (const p of permissionsOf(context.commandName ?? "?", args.input as Record<string, unknown>)) requests.add(p);
        return next(args);
      },
      { step: "initialize", name: "recordPermissions" },
    );
  }
  return new Runtime({
    store: new DynamoDbExecutionStore({ client: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }), tableName: table }),
    queue: new SqsTaskQueue({ client: sqs, queueUrl: (task) => queueUrls.get(task)! }),
    blobs: new S3BlobStore({ client: s3, bucket }),
    clock: { now: () => now, schedule: () => () => undefined },
    ids: cryptoIds,
    ...options,
  });
}

/** Runs `act` with an empty record, then returns what it requested, queues folded into one. */
async function recorded(act: () => Promise<unknown>): Promise<string[]> {
  requests.clear();
  await act();
  return fold([...requests]);
}

const fold = (lines: readonly string[]) => [...new Set(lines.map((line) => line.replace(/queue:.*$/, "queue:*")))].sort();

/** `upstream`, then `downstream` waiting on it; `upstream` completed, its edge left to the coordinator. */
async function finishedWithDependent(setup: Runtime, upstreamTask: string, limits?: ExecutionRecord["limits"]): Promise<{ upstream: string; downstream: string }> {
  const upstream = cryptoIds.fresh();
  const downstream = cryptoIds.child!(upstream, cryptoIds.fresh());
  const engine = setup.engine;
  await engine.register({ id: upstream, runId: upstream, taskName: upstreamTask, args: "[]", refs: [], waitOn: [] });
  await engine.register({ id: downstream, runId: upstream, parentId: upstream, taskName: "load_product", args: "[]", refs: [upstream], waitOn: [upstream], limits });
  return { upstream, downstream };
}

/** The stream record of `id`'s completion; a limited task's image carries its task and limits, as the table's does. */
function finishedEvent(id: string, limits?: object, taskName?: string): DynamoDBStreamEvent {
  const limited = limits === undefined ? {} : (marshall({ limits, taskName: taskName ?? "" }) as Record<string, AttributeValue>);
  return {
    Records: [{ dynamodb: { SequenceNumber: "1", NewImage: { type: { S: "execution" }, id: { S: id }, state: { S: "completed" }, ...limited }, OldImage: { state: { S: "running" } } } }],
  };
}

/** What the coordinator's tests requested, together: its grants cover both. */
const coordinatorUsed = new Set<string>();

describe("each background function's grants are what its code path requests", () => {
  it("the coordinator: its releases, a replayed record's, and the downstream's send", async () => {
    const setup = recordedRuntime({ inlineFanIn: 0 });
    const { upstream, downstream } = await finishedWithDependent(setup, "load_user");
    const claimed = await setup.engine.claim({ executionId: upstream, taskName: "load_user", attempt: 1 });
    await setup.engine.finish(claimed!, { type: "completed", result: "1" });
    const coordinator = createCoordinatorHandler({ engine: recordedRuntime().engine });
    const used = await recorded(async () => {
      await coordinator(finishedEvent(upstream));
      await coordinator(finishedEvent(upstream));
    });
    expect((await setup.engine.store.get(downstream))?.state).toBe("queued");
    for (const request of used) coordinatorUsed.add(request);
  });

  it("the coordinator under a concurrency limit: a released downstream held, and a slot its worker left taken freed for the one held", async () => {
    const setup = recordedRuntime({ inlineFanIn: 0 });
    const limits = { concurrency: { key: "grants", limit: 1 } };
    const holder = cryptoIds.fresh();
    const waiting = cryptoIds.fresh();
    await setup.engine.register({ id: holder, runId: holder, taskName: "load_product", args: "[]", refs: [], waitOn: [], limits });
    // Released by the coordinator while the slot is taken: held, and noted.
    const { upstream, downstream } = await finishedWithDependent(setup, "load_user", limits);
    const claimed = await setup.engine.claim({ executionId: upstream, taskName: "load_user", attempt: 1 });
    await setup.engine.finish(claimed!, { type: "completed", result: "1" });
    await setup.engine.register({ id: waiting, runId: waiting, taskName: "load_product", args: "[]", refs: [], waitOn: [], limits });
    // The holder's worker wrote its completion and died before freeing its slot.
    await setup.engine.store.update(holder, { state: "queued" }, { state: "completed", finishedAt: now });
    // Held later than the one registered above, which is admitted first.
    now += 1_000;
    const coordinator = createCoordinatorHandler({ engine: recordedRuntime().engine });
    const used = await recorded(async () => {
      await coordinator(finishedEvent(upstream));
      await coordinator(finishedEvent(holder, limits, "load_product"));
    });
    expect((await setup.engine.store.get(downstream))?.held?.by).toBe("concurrency");
    expect((await setup.engine.store.get(waiting))?.held).toBeUndefined();
    for (const request of used) coordinatorUsed.add(request);
    // Links beyond those a record holds are read by a query: on the release path, for an
    // execution with more dependents than this one.
    expect([...new Set([...coordinatorUsed, "dynamodb:Query on table"])].sort()).toEqual(fold(dataGrants(stack, template, stack.orchestrator.coordinator)));
  });

  it("the coordinator publishing events: a forwarding run's chain read and marked, and announced from its end", async () => {
    const setup = recordedRuntime();
    const root = cryptoIds.fresh();
    const target = cryptoIds.child!(root, cryptoIds.fresh());
    await setup.engine.register({ id: root, runId: root, taskName: "load_user", args: "[]", refs: [], waitOn: [] });
    await setup.engine.register({ id: target, runId: root, parentId: root, taskName: "load_product", args: "[]", refs: [], waitOn: [] });
    const claimed = await setup.engine.claim({ executionId: root, taskName: "load_user", attempt: 1 });
    await setup.engine.finish(claimed!, { type: "completed", result: "1", forward: target });
    const published: string[] = [];
    const coordinator = createCoordinatorHandler({ engine: recordedRuntime().engine, publish: async (events) => void published.push(...events.map((e) => e.detailType)) });
    const image = async (id: string) => marshall(await setup.engine.store.get(id), { removeUndefinedValues: true }) as Record<string, AttributeValue>;
    const event = async (id: string): Promise<DynamoDBStreamEvent> => ({
      Records: [{ dynamodb: { SequenceNumber: "1", NewImage: { ...(await image(id)), type: { S: "execution" } }, OldImage: { state: { S: "running" } } } }],
    });
    const rootEvent = await event(root);
    const marking = await recorded(() => coordinator(rootEvent));
    expect(published).toEqual([]);
    const running = await setup.engine.claim({ executionId: target, taskName: "load_product", attempt: 1 });
    await setup.engine.finish(running!, { type: "completed", result: "2" });
    const targetEvent = await event(target);
    const announcing = await recorded(() => coordinator(targetEvent));
    expect(published).toEqual(["Run Completed"]);
    const used = [...marking, ...announcing];
    expect(used).toContain("dynamodb:UpdateItem on table");
    // Within the release path's grants: the chain is read record by record and marked by an update.
    const grants = fold(dataGrants(stack, template, stack.orchestrator.coordinator));
    for (const line of used.filter((l) => l.startsWith("dynamodb:"))) expect(grants).toContain(line);
  });

  it("the dead-letter handler: the failure, its error written to the bucket when large, the dependent released and sent", async () => {
    const setup = recordedRuntime();
    const { upstream, downstream } = await finishedWithDependent(setup, "charge_card");
    const deadLetter = createDeadLetterHandler({ engine: recordedRuntime({ blobThreshold: 16 }).engine, log: () => undefined });
    const message = encodeMessage({ executionId: upstream, taskName: "charge_card", attempt: 1 });
    const used = await recorded(() => deadLetter({ Records: [sqsRecord(message, "m1", 5)] }));
    expect((await setup.engine.store.get(downstream))?.state).toBe("queued");
    // Links beyond those a record holds are read by a query, and under a concurrency limit a
    // dependent held is noted and a slot's release forgets a note, as in the coordinator's tests.
    const limited = ["dynamodb:Query on table", "dynamodb:PutItem on table", "dynamodb:DeleteItem on table"];
    expect([...new Set([...used, ...limited])].sort()).toEqual(fold(dataGrants(stack, template, stack.orchestrator.deadLetterHandler)));
  });

  it("the reconciler: the runs looked back at, and the lost first message sent again", async () => {
    const setup = recordedRuntime();
    const lost = cryptoIds.fresh();
    // Registered and sent, never started: to the reconciler, a run whose message was lost.
    await setup.engine.register({ id: lost, runId: lost, taskName: "send_confirmation_email", args: "[]", refs: [], waitOn: [] });
    now += 20 * 60_000;
    const reconciler = createReconcilerHandler({ engine: recordedRuntime().engine, log: () => undefined });
    const used = await recorded(async () => expect((await reconciler()).resent).toContain(lost));
    expect(used).toEqual(fold(dataGrants(stack, template, stack.orchestrator.reconciler)));
  });
});
