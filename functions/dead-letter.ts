/**
 * The dead-letter handler: a Lambda on the task queues' dead-letter queues. A message
 * lands there after `maxReceiveCount` deliveries that never completed (a worker that
 * crashes or times out every time). Its execution is marked failed and its dependents are
 * released with the error, so nothing downstream waits forever.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { decodeMessage } from "../sdk/aws/sqs-task-queue.ts";
import type { MaybePromise } from "../sdk/engine/step.ts";
import { ErrorCode, FloeError } from "../sdk/errors.ts";
import { runtimeFromEnvironment } from "./environment.ts";

/** What the dead-letter handler needs: something that fails an execution for good. */
export interface DeadLetterDeps {
  readonly engine: { abandon(id: string, error: unknown): MaybePromise<void> };
  /**
   * Where failures are reported.
   * @default console.error
   */
  readonly log?: (message: string) => void;
}

/** Creates the dead-letter handler over `deps` (tests pass their own). */
export function createDeadLetterHandler(deps: DeadLetterDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const log = deps.log ?? ((message: string) => console.error(message));
  return async (event) => {
    const failures = await Promise.all(
      event.Records.map(async (record) => {
        let executionId: string;
        try {
          executionId = decodeMessage(record.body).executionId;
        } catch (error) {
          log(`floe dead-letter: dropped malformed message ${record.messageId}: ${(error as Error).message}`);
          return undefined;
        }
        const deliveries = record.attributes.ApproximateReceiveCount;
        const error = new FloeError(
          ErrorCode.DeadLettered,
          `execution ${executionId} was abandoned: its message was delivered ${deliveries} times without the attempt ` +
            "finishing (the worker crashed or timed out each time); fix the cause and submit it again",
        );
        try {
          await deps.engine.abandon(executionId, error);
          return undefined;
        } catch (failure) {
          log(`floe dead-letter: failing ${executionId} failed: ${(failure as Error).message}`);
          return record.messageId;
        }
      }),
    );
    return { batchItemFailures: failures.filter((id) => id !== undefined).map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

let deadLetter: Promise<(event: SQSEvent) => Promise<SQSBatchResponse>> | undefined;

/** The Lambda entry point: the dead-letter handler over the runtime the environment describes. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  deadLetter ??= runtimeFromEnvironment().then((runtime) => createDeadLetterHandler({ engine: runtime.engine }));
  return (await deadLetter)(event);
}
