/**
 * The worker: one Lambda per task, fed by the task's SQS queue. A batch's messages run
 * concurrently in one invocation; each claims its execution conditionally, so a duplicate
 * delivery is dropped. Messages whose processing failed are reported as batch item
 * failures and come back after the visibility timeout; malformed ones are acknowledged
 * (and logged), since no retry can mend them.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { decodeMessage } from "../sdk/aws/sqs-task-queue.ts";
import type { TaskMessage } from "../sdk/engine/model.ts";
import { runtimeFromEnvironment } from "./environment.ts";

/** What the worker needs: something that processes one task message. */
export interface WorkerDeps {
  readonly runtime: { process(message: TaskMessage): Promise<void> };
  /**
   * Where malformed messages are reported.
   * @default console.error
   */
  readonly log?: (message: string) => void;
}

/** Creates the worker's handler over `deps` (tests pass their own). */
export function createWorkerHandler(deps: WorkerDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const log = deps.log ?? ((message: string) => console.error(message));
  return async (event) => {
    const outcomes = await Promise.all(
      event.Records.map(async (record) => {
        let message: TaskMessage;
        try {
          message = decodeMessage(record.body);
        } catch (error) {
          log(`floe worker: dropped malformed message ${record.messageId}: ${(error as Error).message}`);
          return undefined;
        }
        try {
          await deps.runtime.process(message);
          return undefined;
        } catch (error) {
          log(`floe worker: message ${record.messageId} for ${message.executionId} failed: ${(error as Error).message}`);
          return record.messageId;
        }
      }),
    );
    return { batchItemFailures: outcomes.filter((id) => id !== undefined).map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

let worker: Promise<(event: SQSEvent) => Promise<SQSBatchResponse>> | undefined;

/** The Lambda entry point: the worker over the runtime the environment describes. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  worker ??= runtimeFromEnvironment().then((runtime) => createWorkerHandler({ runtime }));
  return (await worker)(event);
}
