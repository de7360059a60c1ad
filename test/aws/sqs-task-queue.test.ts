import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqsTaskQueue, decodeMessage, encodeMessage } from "../../sdk/aws/sqs-task-queue.ts";
import type { TaskMessage } from "../../sdk/engine/model.ts";
import { countRequests, newRequestCounts } from "../../sdk/aws/request-counter.ts";

let server: Server;
let client: SQSClient;
let endpoint: string;
const urls = new Map<string, string>();

beforeAll(async () => {
  server = await createSqsServer({ port: 0, hostname: "127.0.0.1" });
  const { port } = server.address() as AddressInfo;
  endpoint = `http://127.0.0.1:${port}`;
  client = new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  for (const task of ["load_user", "load_product"]) {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: `floe-${task}` }));
    urls.set(task, QueueUrl ?? "");
  }
});

afterAll(async () => {
  client?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

async function drain(task: string): Promise<TaskMessage[]> {
  const received: TaskMessage[] = [];
  for (;;) {
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: urls.get(task), MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if ((out.Messages ?? []).length === 0) return received;
    received.push(...(out.Messages ?? []).map((m) => decodeMessage(m.Body ?? "")));
  }
}

describe("SqsTaskQueue", () => {
  const queue = () => new SqsTaskQueue({ client, queueUrl: (task) => urls.get(task) ?? "" });

  it("sends every message to its task's queue, in batches, carrying ids only", async () => {
    const messages = Array.from({ length: 23 }, (_, i) => ({
      executionId: `e${i}`,
      taskName: i % 2 === 0 ? "load_user" : "load_product",
      attempt: 1,
    }));
    await queue().send(messages);
    const users = await drain("load_user");
    const products = await drain("load_product");
    expect(users.map((m) => m.executionId).sort()).toEqual(messages.filter((m) => m.taskName === "load_user").map((m) => m.executionId).sort());
    expect(products).toHaveLength(11);
    expect(Object.keys(users[0] ?? {})).toEqual(["executionId", "taskName", "attempt"]);
  });

  it("sends separate submissions of one turn together, ten to a request", async () => {
    const counts = newRequestCounts();
    const counted = new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    countRequests({ sqs: counted }, counts);
    const q = new SqsTaskQueue({ client: counted, queueUrl: (task) => urls.get(task) ?? "" });
    const ids = Array.from({ length: 100 }, (_, i) => `one-by-one-${i}`);
    await Promise.all(ids.map((executionId) => q.send([{ executionId, taskName: "load_user", attempt: 1 }])));
    expect((await drain("load_user")).map((m) => m.executionId).sort()).toEqual([...ids].sort());
    expect(counts.requests.get("SQS:SendMessageBatch")).toBe(10);
    expect(counts.requests.get("SQS:SendMessage")).toBeUndefined();
    counted.destroy();
  });

  it("fails the sends of a batch SQS refuses, naming the queue", async () => {
    const q = new SqsTaskQueue({ client, queueUrl: () => `${urls.get("load_user") ?? ""}-missing` });
    await expect(
      Promise.all([q.send([{ executionId: "a", taskName: "t", attempt: 1 }]), q.send([{ executionId: "b", taskName: "t", attempt: 1 }])]),
    ).rejects.toThrow();
  });

  it("delays a message by the delay it is sent with", async () => {
    await queue().send([{ executionId: "later", taskName: "load_user", attempt: 2 }], 1_000);
    expect(await drain("load_user")).toEqual([]);
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: urls.get("load_user"), WaitTimeSeconds: 3 }));
    expect((out.Messages ?? []).map((m) => decodeMessage(m.Body ?? ""))).toEqual([
      { executionId: "later", taskName: "load_user", attempt: 2 },
    ]);
  });

  it("refuses a malformed message body with the reason", () => {
    expect(() => decodeMessage("not json")).toThrow(/must be JSON/);
    expect(() => decodeMessage(JSON.stringify({ executionId: "x", attempt: 0 }))).toThrow(/taskName.*attempt|attempt.*taskName/s);
    expect(decodeMessage(encodeMessage({ executionId: "x", taskName: "t", attempt: 3 }))).toEqual({ executionId: "x", taskName: "t", attempt: 3 });
  });
});
