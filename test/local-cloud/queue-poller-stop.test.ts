/**
 * The queue poller's stop while a batch is in process, as a data folder's close does it:
 * the cloud's clients refuse every request from then on, so the batch's delete fails, and
 * the stop must still end (the message comes back at the next start, dropped at claim).
 */
import { CreateQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { QueuePoller } from "../../sdk/local-cloud/queue-poller.ts";
import { useSqsServer } from "../support/sqs-server.ts";

const sqsServer = useSqsServer();

describe("QueuePoller.stop", () => {
  it("ends though the batch in process finishes after the clients were stopped and its delete is refused", async () => {
    const sqs = sqsServer.client();
    const { QueueUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName: "stop-midway" }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "one" }));
    let finish!: () => void;
    const handling = new Promise<void>((resolve) => (finish = resolve));
    let received!: () => void;
    const started = new Promise<void>((resolve) => (received = resolve));
    const poller = new QueuePoller({
      sqs,
      queues: { ready: () => [QueueUrl], onCreated: () => undefined },
      handlerFor: () => async () => {
        received();
        await handling;
        return { batchItemFailures: [] };
      },
      concurrency: 1,
    });
    poller.start();
    await started;
    // What the local cloud's close does to its clients when a data folder keeps its state.
    sqs.middlewareStack.add(() => () => Promise.reject(new Error("stopped")), { step: "initialize", name: "refuseAll", priority: "high" });
    const stopping = poller.stop();
    finish();
    await expect(stopping).resolves.toBeUndefined();
    sqs.destroy();
  });
});
