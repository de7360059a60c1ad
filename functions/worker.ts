/**
 * The worker: one Lambda per task, fed by the task's SQS queue. A batch's messages run
 * concurrently in one invocation; each claims its execution conditionally, so a duplicate
 * delivery is dropped. Messages whose processing failed are reported as batch item
 * failures and come back after the visibility timeout; malformed ones are acknowledged
 * (and logged), since no retry can mend them.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { TaskMessage } from "../sdk/engine/model.ts";
import { entryPoint } from "./environment.ts";
import { sqsBatchHandler } from "./sqs-batch.ts";

/** What the worker needs: something that processes one task message. */
export interface WorkerDeps {
  readonly runtime: {
    process(message: TaskMessage): Promise<void>;
    /** Writes out the invocation's metrics (`Runtime.flushWatchers`), if the runtime keeps any. */
    flushWatchers?(): void;
  };
  /**
   * Where malformed messages are reported.
   * @default console.error
   */
  readonly log?: (message: string) => void;
}

/** Creates the worker's handler over `deps` (tests pass their own). */
export function createWorkerHandler(deps: WorkerDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const handle = sqsBatchHandler("worker", deps.log ?? ((message: string) => console.error(message)), (message) =>
    deps.runtime.process(message),
  );
  return async (event) => {
    try {
      return await handle(event);
    } finally {
      // Once per invocation, whatever became of the batch: Lambda may freeze the process
      // right after the handler returns, so nothing is left in memory.
      deps.runtime.flushWatchers?.();
    }
  };
}

/** The Lambda entry point: the worker over the runtime the environment describes. */
export const handler = entryPoint((runtime) => createWorkerHandler({ runtime }));
