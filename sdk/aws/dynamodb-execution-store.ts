/**
 * The execution store on one DynamoDB table.
 *
 * Item layout (`pk`, `sk` are the table's keys):
 *
 * | item | pk | sk | indexed as |
 * | --- | --- | --- | --- |
 * | a run's root record | `X#<id>` | `X` | `byWorkflow` (`rootTask`, `createdAt`), `byStart` (`root` = `run`, `createdAt`); while first `queued` (or queued by a re-run) or `sleeping`, `byQueued` (`qs` = one of {@link QUEUED_SHARDS} shards, `qdue` = when its attempt became due, or its wake time) |
 * | any other record | `R#<family>` | `X#<id>` | nowhere |
 * | idempotency record | `K#<key>` | `K` | nowhere (no index attribute; its `type` is not the stream filter's) |
 * | the callback key | `C#callback-key` | `C` | nowhere (as an idempotency record) |
 * | reuse record (a cached result, a debounce window) | `U#<key>` | `U` | nowhere (as an idempotency record); `expiresAt`, the TTL attribute, one day after it stops counting |
 * | limit counters (`dynamodb-limit-store.ts`) | `L#<limit>` | `L`, `R`, `W#…` | nowhere (as an idempotency record) |
 *
 * Every execution below a root has an id `<family>~<digest>`, the family being its run's
 * ({@link familyOf}; the runtime's id source makes such ids), so the records of a run share
 * one partition: a run, or the children of one parent, is one query on the table's own key,
 * and no index entry is written per execution. Only roots are indexed, for listing runs and,
 * while queued or asleep, for the reconciler (a lost first message of a run, or a root's lost
 * wake message, has no other repair; a lost message below a root is sent again by the
 * redelivery of the message whose handler failed).
 *
 * Dependency links live on the records: each upstream's `links` map holds one entry per
 * edge out of it, so "the edges out of a finished execution" come with its record (the
 * completion's own write returns them, the coordinator's stream image carries them). Each
 * edge has a slot, its upstream's position among the downstream's edges of its generation;
 * a release is one conditional update of the downstream that adds the slots it counts to the
 * downstream's `counted` set and decrements `pending` by their number, only if none of them
 * is in the set yet and the generation is the downstream's current one. Repeating it counts
 * nothing twice, so it needs no transaction and no mark on the upstream. The set is emptied
 * when the execution leaves its blocked state (queued, or a new generation), so a record is
 * small again once it runs.
 */
import {
  DynamoDBDocumentClient,
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type BatchGetCommandOutput,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { State, isTerminal, type Edge, type ExecutionRecord, type Transition } from "../engine/model.ts";
import type { ExecutionStore, Expectation, IdempotencyRecord, QueuedQuery, Release, ReleaseOptions, ReuseCondition, ReuseRecord, RunQuery } from "../engine/ports.ts";
import { FAMILY_SEPARATOR, familyOf } from "../runtime/system.ts";
import { conditionOf, isConditionFailure } from "./dynamodb-conditions.ts";
import { linkEdges, releaseInto, type StoreContext } from "./dynamodb-dependencies.ts";
import { DynamoDbLimitStore } from "./dynamodb-limit-store.ts";
import { recordKey } from "./record-key.ts";

export { recordKey };
import { LINKS_ON_RECORD, edgeOfLink, edgesOfLinks, linkKey, linkOf, type Link } from "./links.ts";

// The table's definition lives in the contract, which the CDK construct shares.

/** The dependencies of a {@link DynamoDbExecutionStore}. */
export interface DynamoDbExecutionStoreOptions {
  /** A document client; create it with `removeUndefinedValues: true`. */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * Days after its creation an execution record expires: it is written with an
   * `expiresAt` time (epoch seconds), the table's TTL attribute, and DynamoDB deletes it
   * some time after. `undefined` keeps everything.
   * @default undefined
   */
  readonly retentionDays?: number;
}

const idempotencyKey = (key: string) => ({ pk: `K#${key}`, sk: "K" });
const reuseKey = (key: string) => ({ pk: `U#${key}`, sk: "U" });
/** How long DynamoDB keeps a reuse record after it stops counting: TTL deletes late, reads check `until`. */
const reuseGraceSeconds = 86_400;

/** The deployment's callback key: one item, never expiring, indexed nowhere. */
const callbackKeyItem = { pk: "C#callback-key", sk: "C" };

const storageKeys = new Set(["pk", "sk", "rootTask", "root", "type", "expiresAt", "qs", "qdue", "links", "counted", "overflow"]);

/**
 * The partitions of the `byQueued` index: every run's root passes through it, and one
 * partition of an index takes about a thousand writes a second.
 */
export const QUEUED_SHARDS = 16;

/** The `byQueued` shard of an execution (ids end in random or digest characters). */
function queuedShard(id: string): string {
  return `q${id.charCodeAt(id.length - 1) % QUEUED_SHARDS}`;
}


/** A record's put, waiting for the end of the turn (see `DynamoDbExecutionStore.create`). */
interface UnsentPut {
  readonly item: Record<string, unknown>;
  /** Links set on it meanwhile, written with it. */
  readonly links: Record<string, Link>;
  /** Their edges, set by an update if the record turns out to exist. */
  readonly edges: Edge[];
  /** Whether the put created the record. */
  done: Promise<boolean>;
}


const isRoot = (id: string) => !id.includes(FAMILY_SEPARATOR);

/** An {@link ExecutionStore} on DynamoDB. */
export class DynamoDbExecutionStore implements ExecutionStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionSeconds: number | undefined;
  /** The counters of concurrency and rate limits, in the same table (see `dynamodb-limit-store.ts`). */
  readonly limits: DynamoDbLimitStore;

  /** @param options - the document client and the table's name */
  constructor(options: DynamoDbExecutionStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.limits = new DynamoDbLimitStore({ client: options.client, tableName: options.tableName });
    this.#retentionSeconds = options.retentionDays === undefined ? undefined : options.retentionDays * 86_400;
  }

  #expiry(createdAt: number): { expiresAt?: number } {
    return this.#retentionSeconds === undefined ? {} : { expiresAt: Math.floor(createdAt / 1000) + this.#retentionSeconds };
  }

  async create(record: ExecutionRecord): Promise<boolean> {
    const root = record.id === record.runId;
    if (!root && !record.id.startsWith(`${familyOf(record.runId)}${FAMILY_SEPARATOR}`)) {
      throw new Error(
        `execution ${record.id} of run ${record.runId} cannot be stored: on DynamoDB an execution below a root has an id ` +
          `"${familyOf(record.runId)}${FAMILY_SEPARATOR}…" (its run's family); create the runtime with the cryptoIds id source`,
      );
    }
    const item = {
      ...record,
      ...recordKey(record.id),
      type: "execution",
      ...this.#expiry(record.createdAt),
      ...(root ? { rootTask: record.taskName, root: "run" } : {}),
      ...(root && record.state === State.Queued ? { qs: queuedShard(record.id), qdue: record.queuedAt ?? record.createdAt } : {}),
    };
    // Sent once this turn's synchronous code is over: a join submitted in the same turn
    // (the usual fan-out: children, then the task that takes them) writes its links into
    // these puts instead of updating each record after.
    const put: UnsentPut = { item, links: {}, edges: [], done: Promise.resolve(false) };
    put.done = new Promise<boolean>((resolve, reject) => {
      queueMicrotask(() => {
        this.#unsent.delete(record.id);
        this.#send(put).then(resolve, reject);
      });
    });
    this.#unsent.set(record.id, put);
    this.#creating.set(record.id, put.done);
    const clear = () => {
      if (this.#creating.get(record.id) === put.done) this.#creating.delete(record.id);
    };
    put.done.then(clear, clear);
    return put.done;
  }

  /** Puts a record unless it exists; links given meanwhile go with it, or by an update if it existed. */
  async #send(put: UnsentPut): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({ TableName: this.#table, Item: { ...put.item, links: put.links }, ConditionExpression: "attribute_not_exists(pk)" }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    if (put.edges.length > 0) await this.#link(put.item.id as string, put.edges);
    return false;
  }

  /** Creates not sent yet (see {@link DynamoDbExecutionStore.create}), by id. */
  readonly #unsent = new Map<string, UnsentPut>();
  /** Creates under way, by id: a link to one of these waits for its record. */
  readonly #creating = new Map<string, Promise<boolean>>();

  async get(id: string): Promise<ExecutionRecord | undefined> {
    const item = await this.#item(id);
    return item === undefined ? undefined : toRecord(item);
  }

  async #item(id: string, consistent = true): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: recordKey(id), ConsistentRead: consistent }));
    return Item;
  }

  async getMany(ids: readonly string[], options: { readonly consistent?: boolean } = {}): Promise<(ExecutionRecord | undefined)[]> {
    const found = new Map<string, ExecutionRecord>();
    const items = await this.#items([...new Set(ids)].map(recordKey), options.consistent ?? true);
    for (const item of items) {
      const record = toRecord(item);
      found.set(record.id, record);
    }
    return ids.map((id) => found.get(id));
  }

  async update(
    id: string,
    expect: Expectation,
    changes: Partial<ExecutionRecord>,
    transition?: Transition,
  ): Promise<ExecutionRecord | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    Object.entries(changes).forEach(([key, value], i) => {
      names[`#c${i}`] = key;
      if (value === undefined) removes.push(`#c${i}`);
      else {
        values[`:c${i}`] = value;
        sets.push(`#c${i} = :c${i}`);
      }
    });
    if (changes.state === State.Queued || changes.generation !== undefined) {
      // The slots counted in a blocked generation are of no use once it is over.
      names["#counted"] = "counted";
      removes.push("#counted");
    }
    if (changes.state === State.Sleeping && changes.notBefore !== undefined && isRoot(id)) {
      // A sleeping root is in `byQueued`, due at its wake time: its wake message may wait
      // days, re-sent at each early delivery, and a message lost on the way has no other repair.
      Object.assign(names, { "#qs": "qs", "#qdue": "qdue" });
      Object.assign(values, { ":qs": queuedShard(id), ":qdue": changes.notBefore });
      sets.push("#qs = :qs", "#qdue = :qdue");
    } else if (changes.state === State.Queued && changes.rerun !== undefined && changes.queuedAt !== undefined && isRoot(id)) {
      // A re-run queues its root from an API request, which no message brings back if its
      // send fails: in `byQueued` as at its creation, so the reconciler sends it again.
      Object.assign(names, { "#qs": "qs", "#qdue": "qdue" });
      Object.assign(values, { ":qs": queuedShard(id), ":qdue": changes.queuedAt });
      sets.push("#qs = :qs", "#qdue = :qdue");
    } else if (changes.state !== undefined && changes.state !== State.Queued && isRoot(id)) {
      // A root leaves `byQueued` once it has started. Only its first queueing, at its
      // creation, puts it there: a later one (a retry, a re-run after a suspension) was
      // written by a handler whose message comes back if its send fails.
      Object.assign(names, { "#qs": "qs", "#qdue": "qdue" });
      removes.push("#qs", "#qdue");
    }
    if (transition !== undefined) {
      names["#history"] = "history";
      values[":transition"] = [transition];
      sets.push("#history = list_append(#history, :transition)");
    }
    const condition = conditionOf(expect, names, values);
    const expression = [sets.length > 0 ? `SET ${sets.join(", ")}` : "", removes.length > 0 ? `REMOVE ${removes.join(", ")}` : ""]
      .filter(Boolean)
      .join(" ");
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: recordKey(id),
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(pk)${condition === "" ? "" : ` AND ${condition}`}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: Object.keys(values).length > 0 ? values : undefined,
          ReturnValues: "ALL_NEW",
        }),
      );
      if (Attributes === undefined) return undefined;
      const record = toRecord(Attributes);
      // The edges out of a record that has just finished come with it: its release needs no read.
      if (isTerminal(record.state)) this.#remember(Attributes);
      return record;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * The last terminal records this store's writes returned, by id, for the release that
   * follows a completion: their links come with them, and the release needs no read.
   * Taken once; a few kept at most.
   */
  readonly #finished = new Map<string, Record<string, unknown>>();

  #remember(item: Record<string, unknown>): void {
    if (this.#finished.size >= 256) this.#finished.clear();
    this.#finished.set(item.id as string, item);
  }

  async addEdges(edges: readonly Edge[]): Promise<void> {
    const byUpstream = new Map<string, Edge[]>();
    for (const edge of edges) {
      const list = byUpstream.get(edge.upstreamId);
      if (list === undefined) byUpstream.set(edge.upstreamId, [edge]);
      else list.push(edge);
    }
    await Promise.all(
      [...byUpstream].map(async ([upstreamId, list]) => {
        const unsent = this.#unsent.get(upstreamId);
        if (unsent !== undefined && Object.keys(unsent.links).length + list.length <= LINKS_ON_RECORD) {
          for (const edge of list) unsent.links[linkKey(edge)] = linkOf(edge, unsent.item.runId as string);
          unsent.edges.push(...list);
          await unsent.done;
          return;
        }
        // An upstream whose record is being written: its put comes first.
        await this.#creating.get(upstreamId)?.catch(() => undefined);
        await this.#link(upstreamId, list);
      }),
    );
  }

  #link(upstreamId: string, edges: readonly Edge[]): Promise<void> {
    return linkEdges(this.#releasing, upstreamId, edges);
  }

  /** The item a failed condition found (returned with the failure, or read). */
  async #failedItem(error: unknown, id: string): Promise<Record<string, unknown> | undefined> {
    const old = (error as { Item?: Record<string, unknown> }).Item;
    if (old !== undefined) return unmarshall(old as Parameters<typeof unmarshall>[0]);
    return this.#item(id);
  }

  async release(edges: readonly Edge[], options: ReleaseOptions = {}): Promise<Release | undefined> {
    return releaseInto(this.#releasing, edges, options);
  }

  /** What links and releases need of this store. */
  readonly #releasing: StoreContext = {
    update: (command) => this.#client.send(command),
    put: (command) => this.#client.send(command),
    table: () => this.#table,
    expiry: (createdAt) => this.#expiry(createdAt),
    item: (id) => this.#item(id),
    failedItem: (error, id) => this.#failedItem(error, id),
    toRecord: (item) => toRecord(item),
  };

  async edgesFrom(upstreamId: string): Promise<Edge[]> {
    const remembered = this.#finished.get(upstreamId);
    if (remembered !== undefined) this.#finished.delete(upstreamId);
    const item = remembered ?? (await this.#item(upstreamId));
    if (item === undefined) return [];
    const more =
      item.overflow === true
        ? await this.#query({
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :links)",
            ExpressionAttributeValues: { ":pk": recordKey(upstreamId).pk, ":links": `L#${upstreamId}#` },
            ConsistentRead: true,
          })
        : [];
    return edgesOfLinks(upstreamId, withLinkItems(linksOn(item), more), item.runId as string);
  }

  async children(parentId: string, runId: string): Promise<ExecutionRecord[]> {
    const items = await this.#query({
      KeyConditionExpression: "pk = :pk",
      FilterExpression: "parentId = :parent",
      ExpressionAttributeValues: { ":pk": `R#${familyOf(runId)}`, ":parent": parentId },
      // Half the price, and safe: a child missed is created again by a conditional put that
      // finds it, and one read as it was a moment ago is read again before it is relied on.
      ConsistentRead: false,
    });
    return items.map(toRecord);
  }

  async executions(runId: string): Promise<ExecutionRecord[]> {
    return ((await this.#runItems(runId)) ?? []).filter((item) => item.type === "execution").map(toRecord);
  }

  async run(runId: string): Promise<{ executions: ExecutionRecord[]; edges: Edge[] } | undefined> {
    const items = await this.#runItems(runId);
    if (items === undefined) return undefined;
    const executions = items.filter((item) => item.type === "execution");
    // Link items, by upstream (their sort key is `L#<upstream>#<link key>`).
    const overflow = new Map<string, Record<string, unknown>[]>();
    for (const item of items) {
      if (item.type !== "link") continue;
      const upstreamId = String(item.sk).slice(2, String(item.sk).indexOf("#", 2));
      overflow.set(upstreamId, [...(overflow.get(upstreamId) ?? []), item]);
    }
    const edges = executions.flatMap((item) =>
      edgesOfLinks(item.id as string, withLinkItems(linksOn(item), overflow.get(item.id as string) ?? []), item.runId as string),
    );
    return { executions: executions.map(toRecord), edges };
  }

  /**
   * The items of a run (its records and link items), root first; `undefined` for a run with none.
   *
   * A live poll (`GET /runs/{id}?since=`) reads the whole run here too, and bills it: a
   * query with a filter pays for every item it reads. Measured (`npm run bench:poll`), a
   * poll of a 10,000-execution run reads 817 units either way; only the answer shrinks
   * (4.4 MB to 1.3 KB). The cheaper shape, an index keyed by run and change time holding
   * keys only, would move its entry at every write of every record (a delete and a put, two
   * write units), and a task writes its record at least three times (made, started,
   * finished): six more write units a task, $3.75 a million tasks, more than issue 14's
   * target for the whole of a fan-out ($2). A poll of a 10,000 run costs $0.0001 (817 read units); the
   * index pays for itself only past about 370 polls of every run (three minutes of a
   * dashboard open on each), and most runs are never watched. So no index: the poll's
   * price is left to grow with the run, its bytes are not. Reads stay consistent: an
   * eventually consistent one (half the units) could give an execution older than the
   * poll before had, and a live view would step back.
   */
  async #runItems(runId: string): Promise<Record<string, unknown>[] | undefined> {
    const [root, rest] = await Promise.all([
      this.#query({ KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": `X#${runId}` }, ConsistentRead: true }),
      this.#query({
        KeyConditionExpression: "pk = :pk",
        // Runs whose families collide share a partition.
        FilterExpression: "runId = :run",
        ExpressionAttributeValues: { ":pk": `R#${familyOf(runId)}`, ":run": runId },
        ConsistentRead: true,
      }),
    ]);
    const items = [...root.sort((a) => (a.sk === "X" ? -1 : 1)), ...rest];
    return items.length === 0 ? undefined : items;
  }

  /**
   * Roots newest first, from the `byStart` index (or `byWorkflow` for one workflow), which
   * holds keys only: a state is not in the index, so a listing by state reads the roots'
   * records page by page and keeps those in that state until it has `limit` of them or the
   * index ends. Putting the state in an index key instead would cost an index write at every
   * transition of every root (queued, running, each suspension and re-run, the end), to
   * spare reads that only a person listing runs makes.
   */
  async runs(query: RunQuery): Promise<ExecutionRecord[]> {
    const byTask = query.taskName !== undefined;
    const key = byTask ? "rootTask" : "root";
    const value = query.taskName ?? "run";
    const limit = query.limit ?? 50;
    const { after } = query;
    const found: ExecutionRecord[] = [];
    let start: Record<string, unknown> | undefined =
      after === undefined ? undefined : { [key]: value, createdAt: after.createdAt, ...recordKey(after.id) };
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: byTask ? "byWorkflow" : "byStart",
          KeyConditionExpression: `${key} = :key AND createdAt BETWEEN :after AND :before`,
          ExpressionAttributeValues: { ":key": value, ":after": query.createdAfter ?? 0, ":before": query.createdBefore ?? Number.MAX_SAFE_INTEGER },
          ScanIndexForward: false,
          // Unfiltered, the keys of the runs to return; by state, a batch read's worth at a time.
          Limit: query.state === undefined ? limit - found.length : 100,
          ExclusiveStartKey: start,
        }),
      );
      const keys = out.Items ?? [];
      const records = this.#inOrder(keys, await this.#items(keys.map(({ pk, sk }) => ({ pk, sk }))));
      for (const record of records) {
        if (query.state !== undefined && record.state !== query.state) continue;
        found.push(record);
        // Stopped inside a page: the next one starts after the last run returned.
        if (found.length === limit) return found;
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  async putIdempotencyRecord(record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const item = { ...record, ...idempotencyKey(record.key), type: "idempotency", ...this.#expiry(record.createdAt) };
    // Two tries: a record found expired by the condition yet gone by the read (TTL deleted
    // it in between) is put again.
    for (let tries = 0; tries < 2; tries += 1) {
      try {
        // A record past its expiry counts as gone, as TTL deletes it only some time later.
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: item,
            ConditionExpression: "attribute_not_exists(pk) OR expiresAt < :now",
            ExpressionAttributeValues: { ":now": Math.floor(record.createdAt / 1000) },
          }),
        );
        return record;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const { Item } = await this.#client.send(
        new GetCommand({ TableName: this.#table, Key: idempotencyKey(record.key), ConsistentRead: true }),
      );
      if (Item !== undefined) {
        return { key: record.key, executionId: Item.executionId as string, digest: Item.digest as string, createdAt: Item.createdAt as number };
      }
    }
    throw new Error(`the idempotency record ${record.key} was held at the put and gone at the read, twice; repeat the request`);
  }

  async getReuseRecord(key: string, now: number): Promise<ReuseRecord | undefined> {
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: reuseKey(key), ConsistentRead: true }));
    return Item === undefined ? undefined : reuseOf(Item, now);
  }

  async putReuseRecord(record: ReuseRecord, condition: ReuseCondition): Promise<ReuseRecord | undefined> {
    const { expiresAt, ...fields } = record;
    const item = {
      ...fields,
      ...reuseKey(record.key),
      type: "reuse",
      // `until` is when it stops counting; `expiresAt` (seconds) is the table's TTL attribute.
      ...(expiresAt === undefined ? {} : { until: expiresAt, expiresAt: Math.floor(expiresAt / 1000) + reuseGraceSeconds }),
    };
    // A record past its `until` counts as gone, as TTL deletes it only some time later.
    const values: Record<string, unknown> = { ":now": record.createdAt };
    let expression: string | undefined = "attribute_not_exists(pk) OR #until <= :now";
    if ("replacing" in condition) {
      expression += " OR executionId = :replacing";
      values[":replacing"] = condition.replacing;
    } else if ("always" in condition) {
      expression = undefined;
    }
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          ...(expression === undefined ? {} : { ConditionExpression: expression, ExpressionAttributeNames: { "#until": "until" }, ExpressionAttributeValues: values }),
        }),
      );
      return record;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: reuseKey(record.key), ConsistentRead: true }));
    return Item === undefined ? undefined : reuseOf(Item, Number.NEGATIVE_INFINITY);
  }

  async callbackKey(candidate: string): Promise<string> {
    // Read first: the key exists but on a deployment's first use, and a read costs less
    // than a put that fails its condition.
    const read = async () =>
      (await this.#client.send(new GetCommand({ TableName: this.#table, Key: callbackKeyItem, ConsistentRead: true }))).Item?.key as string | undefined;
    const found = await read();
    if (found !== undefined) return found;
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...callbackKeyItem, type: "callback-key", key: candidate },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return candidate;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const stored = await read();
    if (stored === undefined) throw new Error("the callback key was there at the put and gone at the read; try again");
    return stored;
  }

  async queued(query: QueuedQuery): Promise<ExecutionRecord[]> {
    const shards = Array.from({ length: QUEUED_SHARDS }, (_, n) => `q${n}`);
    const keys = await Promise.all(
      shards.map((shard) =>
        this.#query(
          {
            IndexName: "byQueued",
            KeyConditionExpression: "qs = :shard AND qdue BETWEEN :after AND :before",
            ExpressionAttributeValues: { ":shard": shard, ":after": query.dueAfter ?? 0, ":before": query.dueBefore },
          },
          query.limit,
        ),
      ),
    );
    // The index is read eventually consistent: keep what the table still says is queued or asleep.
    const records = (await this.#items(keys.flat().map(({ pk, sk }) => ({ pk, sk }))))
      .map(toRecord)
      .filter((r) => r.state === State.Queued || r.state === State.Sleeping);
    return records.sort((a, b) => (a.queuedAt ?? 0) - (b.queuedAt ?? 0)).slice(0, query.limit);
  }

  /** The items with these keys, a hundred a request, in no particular order. */
  async #items(keys: readonly Record<string, unknown>[], consistent = true): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let batch: Record<string, unknown>[] | undefined = keys.slice(i, i + 100);
      // BatchGetItem may return part of the keys as unprocessed under load: ask again.
      while (batch !== undefined && batch.length > 0) {
        const out: BatchGetCommandOutput = await this.#client.send(
          new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: batch, ConsistentRead: consistent } } }),
        );
        found.push(...(out.Responses?.[this.#table] ?? []));
        batch = out.UnprocessedKeys?.[this.#table]?.Keys;
      }
    }
    return found;
  }

  /** The records of `items` in the order of `keys` (as an index returned them). */
  #inOrder(keys: readonly Record<string, unknown>[], items: readonly Record<string, unknown>[]): ExecutionRecord[] {
    const byKey = new Map(items.map((item) => [`${String(item.pk)}|${String(item.sk)}`, item]));
    return keys.flatMap((k) => {
      const item = byKey.get(`${String(k.pk)}|${String(k.sk)}`);
      return item === undefined ? [] : [toRecord(item)];
    });
  }

  async #query(input: Omit<QueryCommandInput, "TableName">, limit = Infinity): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(new QueryCommand({ ...input, TableName: this.#table, ExclusiveStartKey: start }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined && items.length < limit);
    return items.slice(0, limit);
  }
}

/** The links kept on a record's item. */
function linksOn(item: Record<string, unknown>): Link[] {
  return Object.values((item.links ?? {}) as Record<string, Link>);
}

/** `links` and those of link items beside their record, each edge once (a retried registration may have written both). */
function withLinkItems(links: Link[], items: readonly Record<string, unknown>[]): Link[] {
  if (items.length === 0) return links;
  const onRecord = new Set(links.map((link) => linkKey(edgeOfLink(link))));
  return [...links, ...(items as unknown as Link[]).filter((link) => !onRecord.has(linkKey(edgeOfLink(link))))];
}

function toRecord(item: Record<string, unknown>): ExecutionRecord {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !storageKeys.has(key))) as unknown as ExecutionRecord;
}

/** A reuse record from its item, unless it stopped counting by `now`. */
function reuseOf(item: Record<string, unknown>, now: number): ReuseRecord | undefined {
  const until = item.until as number | undefined;
  if (until !== undefined && until <= now) return undefined;
  const record: ReuseRecord = { key: (item.pk as string).slice(2), executionId: item.executionId as string, createdAt: item.createdAt as number };
  return {
    ...record,
    ...(until === undefined ? {} : { expiresAt: until }),
    ...(item.result === undefined ? {} : { result: item.result as ReuseRecord["result"] }),
    ...(item.since === undefined ? {} : { since: item.since as number }),
  };
}
