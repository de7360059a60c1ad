/** SQS events as Lambda's event source builds them, for feeding handlers in tests. */
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { encodeMessage } from "../../sdk/aws/sqs-task-queue.ts";
import type { TaskMessage } from "../../sdk/engine/model.ts";

/** One record with `body`, delivered for the `receiveCount`th time. */
export function sqsRecord(body: string, messageId: string, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: "0",
      SenderId: "test",
      ApproximateFirstReceiveTimestamp: "0",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:floe-test",
    awsRegion: "us-east-1",
  };
}

/** An event carrying task messages, each with the message id `msg-<executionId>`. */
export function sqsEvent(messages: readonly TaskMessage[], receiveCount = 1): SQSEvent {
  return { Records: messages.map((m) => sqsRecord(encodeMessage(m), `msg-${m.executionId}`, receiveCount)) };
}
