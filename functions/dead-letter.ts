/**
 * The dead-letter handler: a Lambda on the task queues' dead-letter queues. A message
 * lands there after `maxReceiveCount` deliveries that never completed (a worker that
 * crashes or times out every time). Its execution is marked failed and its dependents are
 * released with the error, so nothing downstream waits forever.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { MaybePromise } from "../sdk/engine/step.ts";
import { ErrorCode, FloeError } from "../sdk/errors.ts";
import { entryPoint } from "./environment.ts";
import { sqsBatchHandler } from "./sqs-batch.ts";

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
  return sqsBatchHandler("dead-letter", deps.log ?? ((message: string) => console.error(message)), async (message, record) => {
    const deliveries = record.attributes.ApproximateReceiveCount;
    const error = new FloeError(
      ErrorCode.DeadLettered,
      `execution ${message.executionId} was abandoned: its message was delivered ${deliveries} times without the attempt ` +
        "finishing (the worker crashed or timed out each time); fix the cause and submit it again",
    );
    await deps.engine.abandon(message.executionId, error);
  });
}

/** The Lambda entry point: the dead-letter handler over the runtime the environment describes. */
export const handler = entryPoint((runtime) => createDeadLetterHandler({ engine: runtime.engine }));
