/**
 * Dependencies on the DynamoDB store: links written on an upstream's record (or beside it),
 * and releases. A release is one conditional update of the downstream that adds the slots
 * it counts to the downstream's `counted` set and decrements its counter by their number,
 * only if none is there yet and the generation is current; the release that counts a whole
 * wait also queues the downstream in the same write. See the store's comment.
 */
import { PutCommand, UpdateCommand, type UpdateCommandOutput } from "@aws-sdk/lib-dynamodb";
import { State, type Edge, type ExecutionRecord } from "../engine/model.ts";
import type { Release, ReleaseOptions } from "../engine/ports.ts";
import { isConditionFailure } from "./dynamodb-conditions.ts";
import { LINKS_ON_RECORD, linkKey, linkOf } from "./links.ts";
import { recordKey } from "./record-key.ts";

/** What links and releases need of the store they are made on. */
export interface StoreContext {
  update(command: UpdateCommand): Promise<UpdateCommandOutput>;
  put(command: PutCommand): Promise<unknown>;
  table(): string;
  /** The TTL attribute of an item made at `createdAt`, if records expire. */
  expiry(createdAt: number): { expiresAt?: number };
  /** A record's item, read consistently. */
  item(id: string): Promise<Record<string, unknown> | undefined>;
  /** The item a failed condition found. */
  failedItem(error: unknown, id: string): Promise<Record<string, unknown> | undefined>;
  toRecord(item: Record<string, unknown>): ExecutionRecord;
}

/**
 * The most slots one release counts: each is a `contains(…)` term of its condition, two
 * operators with the `OR` that joins it, and DynamoDB allows 300 in an expression; a
 * group of the engine's (99) fits in one write.
 */
const SLOTS_PER_WRITE = 120;

/** How many times a release that meets other releases into its downstream tries again. */
const RELEASE_TRIES = 100;

/** Releases `edges`, all into one downstream and of one generation (see `ExecutionStore.release`). */
export async function releaseInto(store: StoreContext, edges: readonly Edge[], options: ReleaseOptions = {}): Promise<Release | undefined> {
  const first = edges[0];
  if (first === undefined) return undefined;
  const slots = [...new Set(edges.filter((edge) => edge.waits).map((edge) => edge.slot ?? 0))];
  if (slots.length <= SLOTS_PER_WRITE) return release(store, first, slots, options);
  let last: Release | undefined;
  let decremented = false;
  for (let i = 0; i < slots.length; i += SLOTS_PER_WRITE) {
    last = (await release(store, first, slots.slice(i, i + SLOTS_PER_WRITE), options)) ?? last;
    decremented ||= last?.decremented === true;
  }
  return last === undefined ? undefined : { downstream: last.downstream, decremented };
}

/** Counts `slots` (at most {@link SLOTS_PER_WRITE}) of the downstream of `first` in one conditional write. */
async function release(store: StoreContext, first: Edge, counting: readonly number[], options: ReleaseOptions): Promise<Release | undefined> {
  let slots = counting;
  // A release that has probably been made already (the coordinator after a worker's)
  // reads first: a read costs a fifth of a failed conditional write.
  let known = options.probe === true ? await store.item(first.downstreamId) : undefined;
  // Queued in the same write, tried once: when the slots are the whole wait and the guard is gone.
  let queueAt = first.attempt === undefined ? undefined : options.queueAt;
  // Each failed try shows the downstream as it is: at most one more try per slot counted meanwhile.
  for (let tries = 0; ; tries += 1) {
    if (known !== undefined) {
      if (!countsIn(known, first.generation)) return { downstream: store.toRecord(known), decremented: false };
      const counted = countedOf(known);
      // A wait for any one stops at zero however many release it.
      slots = slots.filter((slot) => !counted.has(slot)).slice(0, Math.max(0, Number(known.pending)));
      if (tries > RELEASE_TRIES) throw new Error(`releasing into ${first.downstreamId} kept meeting other releases; try again`);
    }
    if (slots.length === 0) return known === undefined ? undefined : { downstream: store.toRecord(known), decremented: false };
    const names: Record<string, string> = { "#state": "state", "#counted": "counted" };
    const values: Record<string, unknown> = {
      ":count": slots.length,
      ":generation": first.generation,
      ":waiting": State.Waiting,
      ":suspended": State.Suspended,
      ":slots": new Set(slots),
    };
    const counted = slots.map((slot, i) => {
      values[`:s${i}`] = slot;
      return `contains(#counted, :s${i})`;
    });
    const queue = queueAt !== undefined && (known === undefined || Number(known.pending) === slots.length);
    if (queue) {
      // The last of its wait: counted, and queued, in one write.
      Object.assign(names, { "#history": "history" });
      Object.assign(values, {
        ":zero": 0,
        ":queued": State.Queued,
        ":at": queueAt,
        ":false": false,
        ":attempt": first.attempt,
        ":transition": [{ state: State.Queued, at: queueAt, attempt: first.attempt }],
      });
      delete values[":slots"];
    }
    queueAt = undefined;
    const whole = queue ? " AND pending = :count AND guarded = :false AND attempt = :attempt" : " AND pending >= :count";
    try {
      const { Attributes } = await store.update(
        new UpdateCommand({
          TableName: store.table(),
          Key: recordKey(first.downstreamId),
          UpdateExpression: queue
            ? "SET pending = :zero, #state = :queued, queuedAt = :at, #history = list_append(#history, :transition) REMOVE #counted"
            : "SET pending = pending - :count ADD #counted :slots",
          ConditionExpression:
            `attribute_exists(pk) AND generation = :generation${whole} AND #state IN (:waiting, :suspended) AND NOT (${counted.join(" OR ")})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return Attributes === undefined ? undefined : { downstream: store.toRecord(Attributes), decremented: true, queued: queue };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      known = await store.failedItem(error, first.downstreamId);
      // No item: the downstream does not exist (yet); its registration reads this upstream.
      if (known === undefined) return undefined;
    }
  }
}

/** Whether a downstream, as stored, still counts releases of `generation`. */
function countsIn(item: Record<string, unknown>, generation: number): boolean {
  return item.generation === generation && (item.state === State.Waiting || item.state === State.Suspended);
}

function countedOf(item: Record<string, unknown>): Set<number> {
  const counted = item.counted;
  return counted instanceof Set ? new Set([...counted].map(Number)) : new Set();
}

/**
 * Sets the links of `edges` on their upstream's record, or in link items beside it once
 * the record holds {@link LINKS_ON_RECORD}. Setting a link that exists (a retried
 * registration) sets the same value; one found both on the record and as an item is the
 * same edge, and read once.
 */
export async function linkEdges(store: StoreContext, upstreamId: string, edges: readonly Edge[]): Promise<void> {
  const names: Record<string, string> = { "#links": "links" };
  const values: Record<string, unknown> = { ":room": LINKS_ON_RECORD - edges.length };
  const sets = edges.map((edge, i) => {
    names[`#l${i}`] = linkKey(edge);
    values[`:l${i}`] = linkOf(edge);
    return `#links.#l${i} = :l${i}`;
  });
  let found: Record<string, unknown> | undefined;
  try {
    await store.update(
      new UpdateCommand({
        TableName: store.table(),
        Key: recordKey(upstreamId),
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: "attribute_exists(pk) AND size(#links) <= :room",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    found = await store.failedItem(error, upstreamId);
  }
  if (found === undefined) {
    throw new Error(`execution ${upstreamId} does not exist: an execution can only wait for one whose record is written`);
  }
  // Items first, then the flag that says to read them: a completion that does not see the
  // flag yet came before this registration's read of the upstream, which releases it.
  const { pk } = recordKey(upstreamId);
  const runId = found.runId as string;
  await Promise.all(
    edges.map((edge) =>
      store.put(
        new PutCommand({
          TableName: store.table(),
          Item: { pk, sk: `L#${upstreamId}#${linkKey(edge)}`, type: "link", runId, ...linkOf(edge, runId), ...store.expiry(edge.createdAt) },
        }),
      ),
    ),
  );
  if (found.overflow !== true) {
    await store.update(
      new UpdateCommand({ TableName: store.table(), Key: recordKey(upstreamId), UpdateExpression: "SET overflow = :true", ExpressionAttributeValues: { ":true": true } }),
    );
  }
}
