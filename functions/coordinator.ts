/**
 * The coordinator: a Lambda on the table's stream. For every transition of an execution
 * into a terminal state it releases the execution's dependents: the backstop for a worker
 * that died after its completion write, before its inline release. Releases are
 * idempotent, so doing the work twice (the worker's fast path, a replayed stream record)
 * changes nothing. A batch's releases are grouped per downstream: the edges its records
 * release into one downstream are marked, and the counter decremented, in one write.
 *
 * It also publishes completion events (`sdk/events/`): a run's end (for a root that
 * forwarded its result, the end of its forward chain: `forwarded-run.ts`), and the failure
 * of an execution nothing waits for. When they cannot be published, the batch is reported failed
 * from the first record with an event, so Lambda delivers it again from there: at least
 * once (the releases it repeats are idempotent; consumers dedupe on the event's id).
 */
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { isTerminal, type Edge, type ExecutionRecord, type ExecutionState, type LimitKeys } from "../sdk/engine/model.ts";
import { edgesOfImage } from "../sdk/aws/links.ts";
import { drive, type MaybePromise } from "../sdk/engine/step.ts";
import { entryPoint } from "./environment.ts";
import { EnvironmentVariable } from "../sdk/aws/contract.ts";
import { runEventOf, type FinishedImage, type RunEvent } from "../sdk/events/run-event.ts";
import { finishedRunEvents, type ChainStore } from "../sdk/events/forwarded-run.ts";
import { createEventBridgePublisher, type RunEventPublisher } from "../sdk/events/publisher.ts";
import { unmarshall } from "@aws-sdk/util-dynamodb";

/** What the coordinator needs: something that releases the dependents of finished executions. */
export interface CoordinatorDeps {
  readonly engine: {
    /**
     * Where a forwarding run's chain is followed (`sdk/events/forwarded-run.ts`); without it,
     * a forwarding root is announced when its own record ends, as if it had not forwarded.
     */
    readonly store?: ChainStore;
    releaseDependents(
      upstreamIds: readonly string[],
      options?: { readonly resend?: boolean; readonly edges?: ReadonlyMap<string, readonly Edge[]> },
    ): MaybePromise<void>;
    /**
     * Frees the concurrency slots of finished executions of limited tasks and admits what
     * they held back (idempotent): the backstop of a release a dying worker left undone.
     */
    releaseSlots?(records: readonly LimitedImage[], options?: { readonly repair?: boolean }): MaybePromise<void>;
  };
  /** Where completion events go; without one none is published. */
  readonly publish?: RunEventPublisher;
  /**
   * Where failures are reported.
   * @default console.error
   */
  readonly log?: (message: string) => void;
}

const states = new Set(["waiting", "queued", "running", "suspended", "sleeping", "completed", "failed", "cancelled"]);

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

/** The finished execution of a record, as an image, and how many links lead out of it; or none. */
function finishedImageIn(record: DynamoDBRecord): { image: FinishedImage; linksOut: number } | undefined {
  const image = record.dynamodb?.NewImage;
  if (image === undefined || finishedIn(record) === undefined) return undefined;
  // Links beyond the record's own (`overflow`) mean someone waits: the count need not be exact.
  const linksOut = image.overflow?.BOOL === true ? Infinity : Object.keys(image.links?.M ?? {}).length;
  const { links: _links, ...rest } = image;
  return { image: unmarshall(rest as Parameters<typeof unmarshall>[0]) as FinishedImage, linksOut };
}

/** The completion event of a record in which an execution finished, if it makes one (its record alone, no chain followed). */
export function runEventIn(record: DynamoDBRecord): RunEvent | undefined {
  const found = finishedImageIn(record);
  return found === undefined ? undefined : runEventOf(found.image, found.linksOut);
}

/** The completion events of a record, a forwarding run's chain followed in `store`. */
async function runEventsIn(record: DynamoDBRecord, store: ChainStore | undefined): Promise<RunEvent[]> {
  const found = finishedImageIn(record);
  if (found === undefined) return [];
  if (store === undefined) return [runEventOf(found.image, found.linksOut)].filter((e) => e !== undefined);
  return drive(finishedRunEvents(store, found.image, found.linksOut));
}

/** Creates the coordinator's handler over `deps` (tests pass their own). */
export function createCoordinatorHandler(deps: CoordinatorDeps): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const log = deps.log ?? ((message: string) => console.error(message));
  return async (event) => {
    const unpublished = await publishIn(event.Records, deps.publish, deps.engine.store, log);
    const result = await release(event, deps, log);
    if (unpublished === undefined) return result;
    // Lambda retries from the earliest record reported; the local cloud from the first listed.
    const retry = [...result.batchItemFailures.map((f) => f.itemIdentifier), unpublished].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/**
 * Publishes the completion events of `records`; on failure, returns the sequence number to
 * retry from (the first record with an event), else `undefined`.
 */
async function publishIn(
  records: readonly DynamoDBRecord[],
  publish: RunEventPublisher | undefined,
  store: ChainStore | undefined,
  log: (message: string) => void,
): Promise<string | undefined> {
  if (publish === undefined) return undefined;
  const found: { runEvents: RunEvent[]; sequence: string }[] = [];
  for (const record of records) {
    const sequence = record.dynamodb?.SequenceNumber ?? "";
    try {
      const runEvents = await runEventsIn(record, store);
      if (runEvents.length > 0) found.push({ runEvents, sequence });
    } catch (error) {
      // The records before it are published; it and those after are delivered again.
      log(`floe coordinator: the completion events of record ${sequence} could not be made, the batch is retried from it: ${(error as Error).message}`);
      return (await publishFound(found, publish, log)) ?? sequence;
    }
  }
  return publishFound(found, publish, log);
}

async function publishFound(
  found: readonly { runEvents: readonly RunEvent[]; sequence: string }[],
  publish: RunEventPublisher,
  log: (message: string) => void,
): Promise<string | undefined> {
  if (found.length === 0) return undefined;
  const runEvents = found.flatMap((f) => f.runEvents);
  try {
    await publish(runEvents);
    return undefined;
  } catch (error) {
    log(`floe coordinator: publishing ${runEvents.length} completion events failed, the batch is retried: ${(error as Error).message}`);
    return found[0]!.sequence;
  }
}

/** A finished execution of a limited task, as its stream image shows it. */
export type LimitedImage = Pick<ExecutionRecord, "id" | "taskName" | "limits">;

/** The finished executions of limited tasks in `event`. */
function limitedIn(event: DynamoDBStreamEvent): LimitedImage[] {
  return event.Records.flatMap((record) => {
    const id = finishedIn(record);
    const image = record.dynamodb?.NewImage;
    const limits = image?.limits?.M;
    const taskName = image?.taskName?.S;
    if (id === undefined || limits === undefined || taskName === undefined) return [];
    return [{ id, taskName, limits: unmarshall(limits as Parameters<typeof unmarshall>[0]) as LimitKeys }];
  });
}

/** Releases the dependents of the executions that finished in `event`'s records. */
async function release(event: DynamoDBStreamEvent, deps: CoordinatorDeps, log: (message: string) => void): Promise<DynamoDBBatchResponse> {
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
    const limited = limitedIn(event);
    if (limited.length > 0) await deps.engine.releaseSlots?.(limited);
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
        const limited = limitedIn(event).filter((l) => l.id === id);
        // A repair: the batch's pass may have admitted a held execution and failed to send it.
        if (limited.length > 0) await deps.engine.releaseSlots?.(limited, { repair: true });
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
}

/** The Lambda entry point: the coordinator over the runtime the environment describes. */
export const handler = entryPoint((runtime) => {
  const busName = process.env[EnvironmentVariable.RunEventsBus];
  return createCoordinatorHandler({
    engine: runtime.engine,
    ...(busName === undefined || busName === "" ? {} : { publish: createEventBridgePublisher({ busName }) }),
  });
});
