/**
 * The example app's real bundles, run as Lambda runs them: synthesized with real bundling,
 * each function in Node processes of its own with its asset read-only and only its template
 * environment, its SQS and stream mappings driven as the template configures them. Checks a
 * run of `process_order`, retries chosen by error name in minified bundles, a cancel, a
 * dead-lettered message, the reconciler resending a lost message, and a concurrency limit.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { App } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { handleRequest } from "../../sdk/http/routes.ts";
import type { ExecutionLogsJson } from "../../sdk/logs/log-line.ts";
import { startBundledCloud, type BundledCloud } from "floe/local-cloud";
import type { PublishedEvent } from "../../sdk/local-cloud/events-endpoint.ts";
import { FloeExamplesStack } from "../../infra/app.ts";
import "../../infra/example-tasks.ts";

const assembly = mkdtempSync(join(tmpdir(), "floe-assembly-"));
let cloud: BundledCloud;
let dynamodb: DynamoDBClient;
const output: string[] = [];
/** Executions whose task messages the client's SQS client drops, as if its process died after the record was written. */
const lost = new Set<string>();
/** Executions whose every delivery crashes the worker's process. */
const doomed = new Set<string>();
/** The completion events the bundled coordinator put on (the local) EventBridge. */
const runEvents: PublishedEvent[] = [];

beforeAll(async () => {
  // As the cdk CLI synthesizes: each function's metadata names its asset's folder.
  const app = new App({ outdir: assembly, context: { "aws:cdk:enable-asset-metadata": true } });
  new FloeExamplesStack(app, "FloeExamples");
  app.synth();
  cloud = await startBundledCloud({
    assembly,
    schedules: false,
    // The queue of the task dead-lettered below: its five deliveries take seconds, not half an hour.
    visibilityTimeoutSeconds: (queue) => (queue.endsWith("-call_partner") ? 1 : undefined),
    faults: { crash: (fn, event) => fn.logicalId.includes("callpartnerWorker") && JSON.stringify(event).split(/[^\w-]/).some((word) => doomed.has(word)) },
    instrument: (clients) => {
      dynamodb = clients.dynamodb;
      dropSends(clients.sqs);
    },
    log: (id, line) => output.push(`[${id}] ${line}`),
    onRunEvent: (event) => runEvents.push(event),
  });
}, 180_000);

afterAll(async () => {
  await cloud?.close();
  rmSync(assembly, { recursive: true, force: true });
}, 60_000);

/** Drops sends of messages for the executions in `lost`, reporting them sent. */
function dropSends(sqs: SQSClient): void {
  sqs.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { MessageBody?: string; Entries?: { Id: string; MessageBody?: string }[] };
      const bodies = input.Entries?.map((e) => e.MessageBody ?? "") ?? (input.MessageBody === undefined ? [] : [input.MessageBody]);
      const isLost = (body: string) => [...lost].some((id) => body.includes(id));
      if (bodies.length === 0 || !bodies.every(isLost)) return next(args);
      const output = input.Entries === undefined
        ? { MessageId: "lost", $metadata: {} }
        : { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: "lost", MD5OfMessageBody: "" })), Failed: [], $metadata: {} };
      return { output, response: {} };
    },
    { step: "initialize", name: "floeTestLostSends" },
  );
}

describe("the example app's bundles, run as Lambda runs them", () => {
  it("runs each function from a read-only copy of its asset, with the template's environment and Lambda's only", () => {
    const worker = cloud.functions.get([...cloud.functions.keys()].find((id) => id.includes("processorderWorker")) ?? "");
    expect(worker).toBeDefined();
    const spec = worker!.spec;
    expect(statSync(spec.taskRoot).mode & 0o222).toBe(0);
    expect(spec.environment.FLOE_TABLE_NAME).toBe(cloud.refs.get([...cloud.refs.keys()].find((k) => k.startsWith("FloeTable") && !k.includes(".")) ?? ""));
    expect(spec.environment.AWS_LAMBDA_FUNCTION_NAME).toBe(spec.name);
    expect(spec.environment.HOME).toBeUndefined();
    expect(spec.environment.FLOE_TASKS_MODULE).toBeUndefined();
  });

  it("runs process_order through its workers and the coordinator", async () => {
    const run = cloud.client.submit("process_order", "u1", "p1");
    const result = await run.result();
    expect(result).toEqual({ user: { id: "u1", name: "User u1" }, product: { id: "p1", priceCents: 4999 }, totalCents: 4999 });
    // The bundled coordinator publishes the run's end through the SDK, to the local endpoint.
    await vi.waitFor(() => expect(runEvents.find((e) => (e.detail as { runId?: string }).runId === run.id)).toMatchObject({
      source: "floe",
      busName: "default",
      detailType: "Run Completed",
      detail: { workflow: "process_order", state: "completed" },
    }), { timeout: 20_000, interval: 100 });
  }, 60_000);

  it("keeps each worker's JSON log lines in its log group, and reads an execution's back per attempt", async () => {
    const run = cloud.client.submit("checkout", "order-7", 1200);
    expect(await run.result()).toMatchObject({ paid: true });
    const charge = (await cloud.client.getRun(run.id))!.executions.find((e) => e.taskName === "charge_card")!;
    const response = await handleRequest(cloud.client, { method: "GET", path: `/executions/${encodeURIComponent(charge.id)}/logs`, query: {}, headers: {}, body: undefined, caller: "test" });
    expect(response.status).toBe(200);
    const { lines } = response.body as ExecutionLogsJson;
    expect(lines.map((l) => [l.attempt, l.level, l.message])).toEqual([
      [1, "info", "charging"], [1, "warn", "the payment gateway timed out"],
      [2, "info", "charging"], [2, "warn", "the payment gateway timed out"],
      [3, "info", "charging"], [3, "info", "charged"],
    ]);
    // Written by the worker's process as one JSON line each on stdout, as Lambda would send it.
    expect(output.some((line) => line.includes("charge_card") && line.includes('"message":"charged"') && line.includes('"level":"INFO"'))).toBe(true);
  }, 60_000);

  it("retries by error name, of floe's TimeoutError and of a user's class, and nothing else", async () => {
    const outcome = async (fault: string) => {
      try {
        return await cloud.client.submit("call_partner", fault).result();
      } catch (error) {
        return { name: (error as Error).name, message: (error as Error).message };
      }
    };
    const [timeout, rateLimit, refusal] = await Promise.all([outcome("timeout"), outcome("rate-limit"), outcome("refusal")]);
    expect(timeout).toEqual({ fault: "timeout", attempt: 2 });
    expect(rateLimit).toEqual({ fault: "rate-limit", attempt: 2 });
    expect(refusal).toEqual({ name: "Error", message: "the partner refused the call" });
  }, 60_000);

  it("cancels a run", async () => {
    const run = cloud.client.submit("elevator");
    await run.cancel();
    await expect(run.result()).rejects.toMatchObject({ code: "FLOE_CANCELLED" });
    expect((await cloud.client.getExecution(run.id))?.state).toBe("cancelled");
  }, 60_000);

  it("dead-letters a message whose deliveries all crash the worker; the dead-letter function fails its execution", async () => {
    const execution = cloud.client.submit("call_partner", "timeout");
    doomed.add(execution.id);
    await expect(execution.result()).rejects.toMatchObject({ code: "FLOE_DEAD_LETTERED" });
    const deadLetter = [...cloud.functions.values()].find((fn) => fn.spec.logicalId.startsWith("FloeDeadLetterHandler"));
    expect(deadLetter?.counts.invocations).toBeGreaterThan(0);
  }, 90_000);

  it("resends, from the reconciler, the message of an execution left queued without one", async () => {
    const execution = cloud.client.submit("load_user", "u9");
    lost.add(execution.id);
    // Written queued, its message dropped: then made due long ago, as if the process had died a day back.
    await expect.poll(async () => (await cloud.client.getExecution(execution.id))?.state, { timeout: 10_000 }).toBe("queued");
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName(),
        Key: { pk: { S: `X#${execution.id}` }, sk: { S: "X" } },
        UpdateExpression: "SET qdue = :past",
        ExpressionAttributeValues: { ":past": { N: String(Date.now() - 86_400_000) } },
      }),
    );
    lost.delete(execution.id);
    const [reconciled] = (await cloud.runScheduled()) as { resent: string[] }[];
    expect(reconciled?.resent).toContain(execution.id);
    expect(await execution.result()).toEqual({ id: "u9", name: "User u9" });
  }, 60_000);

  it("keeps a tenant's calls to two at a time through the bundles, and frees every slot", async () => {
    const run = cloud.client.submit("sync_accounts", "bundled", 6, 300);
    expect(await run.result()).toEqual([0, 1, 2, 3, 4, 5]);
    const calls = (await cloud.client.getRun(run.id))!.executions.filter((e) => e.taskName === "sync_account");
    expect(calls).toHaveLength(6);
    // Six calls of 300 ms submitted at once: at each start, at most one other was running.
    for (const call of calls) {
      const running = calls.filter((other) => (other.startedAt ?? 0) <= (call.startedAt ?? 0) && (other.finishedAt ?? 0) > (call.startedAt ?? 0));
      expect(running.length).toBeLessThanOrEqual(2);
    }
    // Every slot was given back: the tenant's holders are gone from the table.
    const limit = await dynamodb.send(
      new GetItemCommand({ TableName: tableName(), Key: { pk: { S: "L#C|sync_account|bundled" }, sk: { S: "L" } }, ConsistentRead: true }),
    );
    expect(limit.Item?.pk?.S).toBe("L#C|sync_account|bundled");
    expect(limit.Item?.holders).toBeUndefined();
  }, 90_000);
});

function tableName(): string {
  const id = [...cloud.refs.keys()].find((k) => k.startsWith("FloeTable") && !k.includes("."));
  return cloud.refs.get(id ?? "") ?? "";
}
