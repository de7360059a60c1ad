/**
 * The local cloud end to end, beyond the conformance suite: dead-lettering (T10), large
 * values going to S3 (T16) and injected throttling and transaction conflicts (T8), on the
 * real emulators and handlers.
 */
import { afterEach, describe, expect, it } from "vitest";
import { task, workflow, type Engine, type Execution } from "floe";
import { startLocalCloud } from "floe/local-cloud";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import { injectDynamoDbFaults, type InjectedCounts } from "../support/aws-faults.ts";
import { createApiHandler } from "../../functions/api.ts";
import { countRequests, newRequestCounts } from "../../sdk/aws/request-counter.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { apiEvent } from "../support/api-event.ts";

const emulators = emulatorsForFile();
let cloud: Pick<Engine, "submit" | "close"> | undefined;
let clouds = 0;

// Closing waits for the batches in process, which may be in the SDK's retry backoff.
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
}, 60_000);

const echo = task("lc_echo", async (value: unknown) => value);
const big = task("lc_big", async (size: number) => "r".repeat(size));

describe("local cloud", () => {
  it("dead-letters a message whose processing keeps failing; its execution fails and waiters see why (T10)", async () => {
    let poisoned = "";
    clouds += 1;
    cloud = await startLocalCloud({
      endpoints: emulators.endpoints,
      prefix: `lc${clouds}`,
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 2,
      // Every claim of the poisoned execution fails, as if its worker crashed each time.
      instrument: ({ dynamodb }) =>
        dynamodb.middlewareStack.add(
          (next) => async (args) => {
            // The document client's input: keys not yet marshalled.
            const input = args.input as { Key?: { pk?: string }; ExpressionAttributeNames?: Record<string, string> };
            const claim = Object.values(input.ExpressionAttributeNames ?? {}).includes("startedAt");
            if (poisoned !== "" && input.Key?.pk === `X#${poisoned}` && claim) {
              throw new Error("injected: the worker crashed");
            }
            return next(args);
          },
          { step: "initialize", name: "poison" },
        ),
    });
    const execution = cloud.submit(echo, "never runs");
    poisoned = execution.id;
    const error = (await execution.result({ raiseOnFailure: false })) as Error & { code?: string };
    expect(error.code).toBe("FLOE_DEAD_LETTERED");
    expect(error.message).toMatch(/delivered \d+ times/);
  }, 30_000);

  it("keeps large arguments and results in S3, and every record well under DynamoDB's 400 KB (T16)", async () => {
    clouds += 1;
    const requests: { command: string; bytes: number }[] = [];
    cloud = await startLocalCloud({
      endpoints: emulators.endpoints,
      prefix: `lc${clouds}`,
      instrument: ({ dynamodb }) =>
        dynamodb.middlewareStack.add(
          (next, context) => async (args) => {
            requests.push({ command: context.commandName ?? "", bytes: JSON.stringify(args.input).length });
            return next(args);
          },
          { step: "initialize", name: "sizes" },
        ),
    });
    for (const size of [100_000, 390_000, 1_500_000]) expect(await cloud.submit(big, size).result()).toHaveLength(size);
    for (const size of [300_000, 1_100_000]) expect(await cloud.submit(echo, "a".repeat(size)).result()).toHaveLength(size);
    const writes = requests.filter((r) => /Put|Update/.test(r.command));
    expect(writes.length).toBeGreaterThan(10);
    expect(Math.max(...writes.map((r) => r.bytes))).toBeLessThan(100_000);
  }, 60_000);
});

const leaf = task("lc_leaf", async (i: number) => i * 2);
const join = task("lc_join", { wait: true }, async (xs: Execution<number>[]) => {
  let total = 0;
  for (const x of xs) total += await x.result();
  return total;
});
const fanIn = workflow("lc_fan_in", async (n: number) => join.submit(Array.from({ length: n }, (_, i) => leaf.submit(i))));

describe("local cloud under throttling and transaction conflicts", () => {
  it("reaches the same results as without faults (T8)", async () => {
    clouds += 1;
    let injected: InjectedCounts | undefined;
    let seed = 7;
    // A fixed pseudo-random sequence, so a failure can be replayed.
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    cloud = await startLocalCloud({
      endpoints: emulators.endpoints,
      prefix: `lc${clouds}`,
      visibilityTimeoutSeconds: 1,
      instrument: ({ dynamodb }) => {
        injected = injectDynamoDbFaults(dynamodb, { throttling: 0.1, transactionConflict: 0.2 }, random);
      },
    });
    const results = await Promise.all([cloud.submit(fanIn, 20).result(), cloud.submit(fanIn, 5).result()]);
    expect(results).toEqual([380, 20]);
    expect((injected?.throttled ?? 0) + (injected?.conflicts ?? 0)).toBeGreaterThan(5);
  }, 90_000);
});

const measured: string[] = [];
// Exported only to show it is defined for the API to find by name.
export const measure = workflow("lc_measure", async (text: string) => {
  measured.push(text.slice(0, 1));
  return text.length;
});

describe("local cloud HTTP API", () => {
  it("keeps Idempotency-Key starts idempotent: 20 at once start one run (T15); another large body gets 422, sending and writing nothing (T22)", async () => {
    clouds += 1;
    const counts = newRequestCounts();
    const local = await startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: `lc${clouds}`, instrument: (clients) => countRequests(clients, counts) });
    cloud = local;
    const api = createApiHandler({ runtime: local });
    const post = async (text: string, key: string) => {
      const response = await api(
        apiEvent("POST", "/workflows/lc_measure/executions", { body: { args: [text] }, headers: { "idempotency-key": key }, caller: "arn:aws:iam::1:user/ada" }),
      );
      return { status: response.statusCode, body: JSON.parse(response.body ?? "null") as { id: string; error?: { code: string } } };
    };
    const same = await Promise.all(Array.from({ length: 20 }, () => post("s".repeat(40_000), "order-1")));
    expect(new Set(same.map((r) => r.status))).toEqual(new Set([202]));
    expect(new Set(same.map((r) => r.body.id)).size).toBe(1);
    const id = same[0]?.body.id ?? "";
    expect(await local.reference(id).result()).toBe(40_000);

    // The run's duplicate messages may still be arriving, each a claim that fails (an
    // UpdateItem whose condition fails): those are left out of what the 422 is checked by.
    const writes = () => ["DynamoDB:TransactWriteItems", "SQS:SendMessage", "SQS:SendMessageBatch", "S3:PutObject"].map((k) => counts.requests.get(k) ?? 0);
    const before = { writes: writes(), puts: counts.requests.get("DynamoDB:PutItem") ?? 0, record: await local.getExecution(id) };
    const refused = await post("t".repeat(50_000), "order-1");
    expect(refused.status).toBe(422);
    expect(refused.body.error?.code).toBe("FLOE_IDEMPOTENCY_CONFLICT");
    // One conditional put (which failed: the 422 says so); no record or edge, no message, no blob.
    expect(writes()).toEqual(before.writes);
    expect(counts.requests.get("DynamoDB:PutItem")).toBe(before.puts + 1);
    expect(await local.getExecution(id)).toEqual(before.record);
    expect(measured).toEqual(["s"]);
    expect((await local.listRuns()).map((r) => r.id)).toEqual([id]);
  }, 60_000);
});
