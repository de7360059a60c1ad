/**
 * The shape both SQS-fed handlers share: decode each record of a batch into a task
 * message, handle the messages concurrently, acknowledge malformed ones (no retry can mend
 * them) and report the ones whose handling failed as batch item failures.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { decodeMessage } from "../sdk/aws/sqs-task-queue.ts";
import type { TaskMessage } from "../sdk/engine/model.ts";

/**
 * Creates an SQS handler that calls `handle` for each well-formed message.
 *
 * @param name - the handler's name in log lines, e.g. `worker`
 * @param log - where malformed messages and failures are reported
 * @param handle - the work for one message; throwing reports the message as failed
 */
export function sqsBatchHandler(
  name: string,
  log: (message: string) => void,
  handle: (message: TaskMessage, record: SQSRecord) => Promise<void>,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures = await Promise.all(
      event.Records.map(async (record) => {
        let message: TaskMessage;
        try {
          message = decodeMessage(record.body);
        } catch (error) {
          log(`floe ${name}: dropped malformed message ${record.messageId}: ${(error as Error).message}`);
          return undefined;
        }
        try {
          await handle(message, record);
          return undefined;
        } catch (error) {
          log(`floe ${name}: message ${record.messageId} for ${message.executionId} failed: ${(error as Error).message}`);
          return record.messageId;
        }
      }),
    );
    return { batchItemFailures: failures.filter((id) => id !== undefined).map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
