/**
 * T21 and retry delays on the AWS code path: DynamoDB Local, the SQS server and the real
 * `SqsTaskQueue`, with the worker handler fed what the queue delivers. Time is the test's
 * clock: the SQS client is wrapped to record each message's delay and send it with none,
 * and the driver moves the clock by that delay (or by the visibility timeout, for a
 * message whose delivery failed) before delivering it. The same wrapper fails a send once,
 * before it reaches the queue or after (the response lost), as SQS failing past the SDK's
 * retries would, or drops it (answered as sent, never queued), as a message lost on the way.
 */
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { createReconcilerHandler } from "../../functions/reconciler.ts";
import { createWorkerHandler } from "../../functions/worker.ts";
import { RetryAfterError, sleep, task, type Execution } from "floe";
import { MAX_DELAY_SECONDS, SqsTaskQueue } from "../../sdk/aws/sqs-task-queue.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { State, type ExecutionRecord } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { ManualClock } from "../support/sim-sqs.ts";
import { sqsRecord } from "../support/sqs-event.ts";
import { useSqsServer } from "../support/sqs-server.ts";

const stores = useDynamoDbLocal();
const VISIBILITY_MS = 30_000;
const TASKS = ["la_up", "la_down", "la_parent", "la_child", "la_later", "la_napper"];

const sqsServer = useSqsServer();

const runs = new Map<string, number>();
const count = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);

const up = task("la_up", async (n: number) => {
  count("la_up");
  return n + 1;
});
const down = task("la_down", { wait: true }, async (u: Execution<number>) => {
  count("la_down");
  return (await u.result()) * 10;
});
const child = task("la_child", async () => {
  count("la_child");
  return "child";
});
const parent = task("la_parent", async () => {
  count("la_parent");
  child.submit();
  return "parent";
});
let retryAfterMs = 0;
const later = task("la_later", { retries: 1 }, async () => {
  count("la_later");
  if ((runs.get("la_later") ?? 0) === 1) throw new RetryAfterError("rate limited", retryAfterMs);
  return "due";
});

let napMs = 0;
const napper = task("la_napper", async () => {
  count("la_napper");
  await sleep(napMs);
  return "rested";
});

/** A send fault: the next SendMessage whose body names `match` fails once, or is dropped. */
interface SendFault {
  match: string;
  mode: "before" | "after" | "drop";
}

async function setup(prefix: string, polled: readonly string[] = TASKS) {
  const clock = new ManualClock();
  const client = sqsServer.client();
  const urls = new Map<string, string>();
  for (const name of TASKS) {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: `${prefix}-${name}` }));
    urls.set(name, QueueUrl ?? "");
  }
  const delays = new Map<string, number[]>();
  const faults: SendFault[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { MessageBody?: string; DelaySeconds?: number; Entries?: { MessageBody?: string; DelaySeconds?: number }[] };
      const entries = context.commandName === "SendMessageCommand" ? [input] : context.commandName === "SendMessageBatchCommand" ? (input.Entries ?? []) : [];
      const fault = faults.find((f) => entries.some((e) => e.MessageBody?.includes(f.match)));
      if (fault !== undefined) faults.splice(faults.indexOf(fault), 1);
      if (fault?.mode === "before") throw serviceError();
      if (fault?.mode === "drop") return { output: { $metadata: {} }, response: {} };
      for (const entry of entries) {
        const body = entry.MessageBody ?? "";
        delays.set(body, [...(delays.get(body) ?? []), entry.DelaySeconds ?? 0]);
        entry.DelaySeconds = 0;
      }
      const out = await next(args);
      if (fault?.mode === "after") throw serviceError();
      return out;
    },
    { step: "initialize", name: "floeTestSends" },
  );
  const queue = new SqsTaskQueue({ client, queueUrl: (name) => urls.get(name) ?? "" });
  const store = await stores();
  const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, takeOverAfterMs: VISIBILITY_MS });
  const worker = createWorkerHandler({ runtime, log: () => undefined });
  /** Each delivery's clock time and message. */
  const deliveries: { at: number; body: string }[] = [];
  /** Receives and delivers until every queue is empty; answers the time it took. */
  const quiesce = async (): Promise<number> => {
    const start = clock.now();
    for (let idle = 0; idle < 2; ) {
      let received = 0;
      for (const url of polled.map((name) => urls.get(name) ?? "")) {
        const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        for (const message of out.Messages ?? []) {
          received += 1;
          const body = message.Body ?? "";
          const count = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
          // A first receive comes after the delay it was sent with; a later one after a failed delivery's visibility timeout.
          const [delay, ...rest] = delays.get(body) ?? [];
          delays.set(body, rest);
          clock.advanceTo(clock.now() + (delay ?? 0) * 1000);
          deliveries.push({ at: clock.now(), body });
          const { batchItemFailures } = await worker({ Records: [sqsRecord(body, message.MessageId ?? "", count)] });
          if (batchItemFailures.length === 0) await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
          else {
            clock.advanceTo(clock.now() + VISIBILITY_MS);
            delays.set(body, [0, ...(delays.get(body) ?? [])]);
            await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
          }
        }
      }
      idle = received === 0 ? idle + 1 : 0;
    }
    return clock.now() - start;
  };
  return { clock, client, runtime, faults, deliveries, quiesce, close: () => client.destroy() };
}

function serviceError(): Error {
  return Object.assign(new Error("We encountered an internal error. Please try again."), {
    name: "InternalError",
    $fault: "server",
    $metadata: { httpStatusCode: 500 },
  });
}

const runningEntries = (record: ExecutionRecord | undefined) => record?.history.filter((h) => h.state === State.Running).length;
let suffix = 0;

describe("a send that fails after the queued write, on the AWS code path (T21)", () => {
  it.each(["before", "after"] as const)("released downstream (%s): runs once within a visibility timeout or two", async (mode) => {
    runs.clear();
    const env = await setup(`t21a${(suffix += 1)}`);
    const u = env.runtime.submit(up, 1);
    const d = env.runtime.submit(down, u);
    await d.created;
    env.faults.push({ match: d.id, mode });
    const took = await env.quiesce();
    expect((await env.runtime.getExecution(d.id))?.state).toBe(State.Completed);
    expect(await d.result()).toBe(20);
    expect(runs.get("la_down")).toBe(1);
    expect(runningEntries(await env.runtime.getExecution(d.id))).toBe(1);
    expect(took).toBeLessThanOrEqual(2 * VISIBILITY_MS);
    env.close();
  }, 60_000);

  it.each(["before", "after"] as const)("child's first message (%s): the parent is not failed, the child runs once", async (mode) => {
    runs.clear();
    const env = await setup(`t21c${(suffix += 1)}`);
    const p = env.runtime.submit(parent);
    await p.created;
    env.faults.push({ match: "la_child", mode });
    const took = await env.quiesce();
    expect((await env.runtime.getExecution(p.id))?.state).toBe(State.Completed);
    const c = (await env.runtime.getRun(p.id))?.executions.find((e) => e.taskName === "la_child");
    expect(c?.state).toBe(State.Completed);
    expect(runs.get("la_child")).toBe(1);
    expect(runningEntries(c)).toBe(1);
    expect(took).toBeLessThanOrEqual(2 * VISIBILITY_MS);
    env.close();
  }, 60_000);

  it("retry's delayed message: the next attempt runs once, when due", async () => {
    runs.clear();
    retryAfterMs = 5_000;
    const env = await setup(`t21r${(suffix += 1)}`);
    const e = env.runtime.submit(later);
    await e.created;
    env.faults.push({ match: `"attempt":2`, mode: "before" });
    const took = await env.quiesce();
    const record = await env.runtime.getExecution(e.id);
    expect(record?.state).toBe(State.Completed);
    expect(record?.history.map((h) => `${h.state}:${h.attempt}`)).toEqual(["queued:1", "running:1", "queued:2", "running:2", "completed:2"]);
    expect(record!.history[3]!.at).toBeGreaterThanOrEqual(record!.notBefore!);
    expect(took).toBeLessThanOrEqual(2 * VISIBILITY_MS);
    env.close();
  }, 60_000);
});

describe("a retry's notBefore, on the AWS code path", () => {
  it.each([
    ["one hour", 3_600_000],
    ["ten days", 10 * 86_400_000],
  ])("RetryAfterError of %s: re-delayed in steps of at most 15 minutes, started once due and not before", async (_name, ms) => {
    runs.clear();
    retryAfterMs = ms;
    const env = await setup(`nb${(suffix += 1)}`, ["la_later"]);
    const e = env.runtime.submit(later);
    await e.created;
    await env.quiesce();
    const record = await env.runtime.getExecution(e.id);
    expect(record?.state).toBe(State.Completed);
    const failedAt = record!.history[2]!.at;
    const secondStart = record!.history[3]!.at;
    expect(record!.notBefore).toBe(failedAt + ms);
    expect(secondStart).toBeGreaterThanOrEqual(failedAt + ms);
    expect(secondStart).toBeLessThanOrEqual(failedAt + ms + 1_000);
    expect(runs.get("la_later")).toBe(2);
    // Every delivery of attempt 2 before it was due only sent itself again, each no more than 15 minutes on.
    const early = env.deliveries.filter((d) => d.body.includes(`"attempt":2`));
    expect(early.length).toBe(Math.ceil(ms / (MAX_DELAY_SECONDS * 1000)));
    for (const [i, d] of early.entries()) {
      const previous = i === 0 ? failedAt : early[i - 1]!.at;
      expect(d.at - previous).toBeLessThanOrEqual(MAX_DELAY_SECONDS * 1000);
    }
    env.close();
  }, 240_000);
});

describe("a sleeping root on the AWS code path", () => {
  const states = (record: ExecutionRecord | undefined) => record?.history.map((h) => h.state);

  it("is re-delayed in steps of at most 15 minutes while asleep, and wakes once due", async () => {
    runs.clear();
    napMs = 3_600_000;
    const env = await setup(`sl${(suffix += 1)}`, ["la_napper"]);
    const e = env.runtime.submit(napper);
    await e.created;
    await env.quiesce();
    const record = await env.runtime.getExecution(e.id);
    expect(states(record)).toEqual(["queued", "running", "sleeping", "running", "completed"]);
    const [, , slept, woke] = record!.history;
    expect(woke!.at).toBeGreaterThanOrEqual(slept!.at + napMs);
    expect(woke!.at).toBeLessThanOrEqual(slept!.at + napMs + 1_000);
    expect(runs.get("la_napper")).toBe(2);
    env.close();
  }, 120_000);

  it("whose wake send fails is sent again by the redelivery of the message that slept", async () => {
    runs.clear();
    napMs = 600_000;
    const env = await setup(`sf${(suffix += 1)}`, ["la_napper"]);
    const e = env.runtime.submit(napper);
    await e.created;
    // The first message is sent: the next send of this execution is its wake message.
    env.faults.push({ match: e.id, mode: "before" });
    await env.quiesce();
    const record = await env.runtime.getExecution(e.id);
    expect(states(record)).toEqual(["queued", "running", "sleeping", "running", "completed"]);
    expect(record!.history[3]!.at).toBeGreaterThanOrEqual(record!.history[2]!.at + napMs);
    env.close();
  }, 60_000);

  it("whose wake message is lost is woken by the reconciler once its wake time is past, and only then", async () => {
    runs.clear();
    napMs = 600_000;
    const env = await setup(`sr${(suffix += 1)}`, ["la_napper"]);
    const e = env.runtime.submit(napper);
    await e.created;
    env.faults.push({ match: e.id, mode: "drop" });
    await env.quiesce();
    const asleep = await env.runtime.getExecution(e.id);
    expect(asleep?.state).toBe(State.Sleeping);
    const reconciler = createReconcilerHandler({ engine: env.runtime.engine, olderThanMs: 900_000, log: () => undefined });
    expect((await reconciler()).resent).toEqual([]);
    env.clock.advanceTo(asleep!.notBefore! + 900_000 - 1);
    expect((await reconciler()).resent).toEqual([]);
    env.clock.advanceTo(asleep!.notBefore! + 900_000);
    expect((await reconciler()).resent).toEqual([e.id]);
    await env.quiesce();
    const record = await env.runtime.getExecution(e.id);
    expect(states(record)).toEqual(["queued", "running", "sleeping", "running", "completed"]);
    expect(runs.get("la_napper")).toBe(2);
    // Awake, it has left the reconciler's index.
    expect((await reconciler()).resent).toEqual([]);
    env.close();
  }, 60_000);
});
