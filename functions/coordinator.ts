/**
 * The coordinator: a Lambda on the table's stream. For every transition of an execution
 * into a terminal state it releases the execution's dependents: the backstop for a worker
 * that died after its completion write, before its inline release. Releases are
 * idempotent, so doing the work twice (the worker's fast path, a replayed stream record)
 * changes nothing. A batch's releases are grouped per downstream: the edges its records
 * release into one downstream are marked, and the counter decremented, in one write.
 */
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { isTerminal, type Edge, type ExecutionState } from "../sdk/engine/model.ts";
import { edgesOfImage } from "../sdk/aws/links.ts";
import type { MaybePromise } from "../sdk/engine/step.ts";
import { entryPoint } from "./environment.ts";

/** What the coordinator needs: something that releases the dependents of finished executions. */
export interface CoordinatorDeps {
  readonly engine: {
    releaseDependents(
      upstreamIds: readonly string[],
      options?: { readonly resend?: boolean; readonly edges?: ReadonlyMap<string, readonly Edge[]> },
    ): MaybePromise<void>;
  };
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

/** The execution that entered a terminal state in this record, if any. */
export function finishedIn(record: DynamoDBRecord): string | undefined {
  const image = record.dynamodb?.NewImage;
  const after = stateOf(image);
  const before = stateOf(record.dynamodb?.OldImage);
  const id = image?.id?.S;
  if (image?.type?.S !== "execution" || id === undefined || after === undefined || !isTerminal(after)) return undefined;
  return before !== undefined && isTerminal(before) ? undefined : id;
}

/** Creates the coordinator's handler over `deps` (tests pass their own). */
export function createCoordinatorHandler(deps: CoordinatorDeps): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const log = deps.log ?? ((message: string) => console.error(message));
  return async (event) => {
    // The links out of each finished execution come in its image: no read for them.
    const edges = new Map<string, readonly Edge[]>();
    const finished = event.Records.flatMap((record) => {
      const id = finishedIn(record);
      if (id === undefined) return [];
      const image = record.dynamodb?.NewImage;
      const found = image === undefined ? undefined : edgesOfImage(id, image);
      if (found !== undefined) edges.set(id, found);
      return [{ id, sequence: record.dynamodb?.SequenceNumber }];
    });
    if (finished.length === 0) return { batchItemFailures: [] };
    try {
      // One call for the whole batch: the engine groups the releases per downstream.
      await deps.engine.releaseDependents([...new Set(finished.map((f) => f.id))], { edges });
      return { batchItemFailures: [] };
    } catch (error) {
      log(`floe coordinator: releasing the dependents of ${finished.length} executions together failed, releasing each alone: ${(error as Error).message}`);
    }
    // One at a time, to find the records that fail: Lambda retries from the first one
    // reported, and a record that keeps failing goes to the on-failure destination
    // without holding up the shard. The batch may have failed on a send after a
    // downstream's `queued` write, which a second release would skip: resend those.
    const failures = await Promise.all(
      finished.map(async ({ id, sequence }) => {
        try {
          await deps.engine.releaseDependents([id], { resend: true });
          return undefined;
        } catch (error) {
          log(`floe coordinator: releasing the dependents of ${id} failed: ${(error as Error).message}`);
          return sequence;
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
