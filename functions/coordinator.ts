/**
 * The coordinator: a Lambda on the table's stream. For every transition of an execution
 * into a terminal state it releases the execution's dependents: the backstop for a worker
 * that died after its completion write, before its inline release. Releases are
 * idempotent, so doing the work twice (the worker's fast path, a replayed stream record)
 * changes nothing. A batch's terminal executions are released concurrently.
 */
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { isTerminal, type ExecutionState } from "../sdk/engine/model.ts";
import type { MaybePromise } from "../sdk/engine/step.ts";
import { entryPoint } from "./environment.ts";

/** What the coordinator needs: something that releases an execution's dependents. */
export interface CoordinatorDeps {
  readonly engine: { releaseDependents(upstreamId: string): MaybePromise<void> };
  /**
   * Where failures are reported.
   * @default console.error
   */
  readonly log?: (message: string) => void;
}

const states = new Set(["waiting", "queued", "running", "suspended", "completed", "failed", "cancelled"]);

function stateOf(image: Record<string, AttributeValue> | undefined): ExecutionState | undefined {
  const state = image?.state?.S;
  return state !== undefined && states.has(state) ? (state as ExecutionState) : undefined;
}

/** Creates the coordinator's handler over `deps` (tests pass their own). */
export function createCoordinatorHandler(deps: CoordinatorDeps): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const log = deps.log ?? ((message: string) => console.error(message));
  return async (event) => {
    const failures = await Promise.all(
      event.Records.map(async (record) => {
        const image = record.dynamodb?.NewImage;
        const after = stateOf(image);
        const before = stateOf(record.dynamodb?.OldImage);
        const id = image?.id?.S;
        if (image?.type?.S !== "execution" || id === undefined || after === undefined || !isTerminal(after)) return undefined;
        if (before !== undefined && isTerminal(before)) return undefined;
        try {
          await deps.engine.releaseDependents(id);
          return undefined;
        } catch (error) {
          log(`floe coordinator: releasing the dependents of ${id} failed: ${(error as Error).message}`);
          return record.dynamodb?.SequenceNumber;
        }
      }),
    );
    return {
      batchItemFailures: failures.filter((s): s is string => s !== undefined).map((itemIdentifier) => ({ itemIdentifier })),
    };
  };
}

/** The Lambda entry point: the coordinator over the runtime the environment describes. */
export const handler = entryPoint((runtime) => createCoordinatorHandler({ engine: runtime.engine }));
