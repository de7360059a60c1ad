/**
 * The execution store on one DynamoDB table.
 *
 * Item layout (`pk`, `sk` are the table's keys):
 *
 * | item | pk | sk | indexed as |
 * | --- | --- | --- | --- |
 * | execution record | `X#<id>` | `X` | `byRun` (`run`, `rsk` = `X#<id>`); roots also `byWorkflow` (`rootTask`, `createdAt`) and `byStart` (`root` = `run`, `createdAt`); while `queued`, `byQueued` (`qs` = one of {@link QUEUED_SHARDS} shards, `qdue` = when its attempt became due) |
 * | dependency edge | `X#<upstreamId>` | `D#<downstreamId>#<kind>#<generation>` | `byRun` (`run`, `rsk` = `D#<upstreamId>#…`) |
 * | idempotency record | `K#<key>` | `K` | nowhere (no index attribute; its `type` is not the stream filter's) |
 *
 * An edge lives in its upstream's partition, so "the edges out of a finished execution" is
 * one query. The indexes project keys only: an update that changes no index key then
 * writes the table alone (one write unit for a small item), not every index as well; the
 * rare reads through an index fetch the items by key afterwards. `byQueued` is sparse: its
 * keys exist only while an execution is queued (an index write into `queued` and one out),
 * so the reconciler finds executions whose message may be lost without a scan. Every state
 * change is a conditional update; a release marks its edges (up to 99 into one downstream)
 * and decrements the downstream's counter by their number in one transaction.
 */
import {
  DynamoDBDocumentClient,
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type BatchGetCommandOutput,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { EdgeKind, State, edgeKey, type Edge, type ExecutionRecord, type Transition } from "../engine/model.ts";
import type { ExecutionStore, Expectation, IdempotencyRecord, QueuedQuery, Release, RunQuery } from "../engine/ports.ts";

// The table's definition lives in the contract, which the CDK construct shares.

/** The dependencies of a {@link DynamoDbExecutionStore}. */
export interface DynamoDbExecutionStoreOptions {
  /** A document client; create it with `removeUndefinedValues: true`. */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * Days after its creation an execution record or edge expires: it is written with an
   * `expiresAt` time (epoch seconds), the table's TTL attribute, and DynamoDB deletes it
   * some time after. `undefined` keeps everything.
   * @default undefined
   */
  readonly retentionDays?: number;
}

const recordKey = (id: string) => ({ pk: `X#${id}`, sk: "X" });
const edgeItemKey = (edge: Pick<Edge, "upstreamId" | "downstreamId" | "kind" | "generation">) => ({
  pk: `X#${edge.upstreamId}`,
  sk: `D#${edge.downstreamId}#${edge.kind}#${edge.generation}`,
});
const idempotencyKey = (key: string) => ({ pk: `K#${key}`, sk: "K" });
type TransactItems = NonNullable<TransactWriteCommandInput["TransactItems"]>;

/** How many times a release meeting another transaction on its downstream tries again. */
const MAX_CONFLICT_RETRIES = 8;
const storageKeys = new Set(["pk", "sk", "run", "rsk", "rootTask", "root", "type", "expiresAt", "qs", "qdue"]);

/**
 * The partitions of the `byQueued` index: every execution passes through it, and one
 * partition of an index takes about a thousand writes a second.
 */
export const QUEUED_SHARDS = 16;

/** The `byQueued` shard of an execution (ids end in random or digest characters). */
function queuedShard(id: string): string {
  return `q${id.charCodeAt(id.length - 1) % QUEUED_SHARDS}`;
}

/** An {@link ExecutionStore} on DynamoDB. */
export class DynamoDbExecutionStore implements ExecutionStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionSeconds: number | undefined;

  /** @param options - the document client and the table's name */
  constructor(options: DynamoDbExecutionStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#retentionSeconds = options.retentionDays === undefined ? undefined : options.retentionDays * 86_400;
  }

  #expiry(createdAt: number): { expiresAt?: number } {
    return this.#retentionSeconds === undefined ? {} : { expiresAt: Math.floor(createdAt / 1000) + this.#retentionSeconds };
  }

  async create(record: ExecutionRecord): Promise<boolean> {
    const item = {
      ...record,
      ...recordKey(record.id),
      type: "execution",
      run: record.runId,
      rsk: `X#${record.id}`,
      ...this.#expiry(record.createdAt),
      ...(record.parentId === undefined ? { rootTask: record.taskName, root: "run" } : {}),
      ...(record.state === State.Queued ? { qs: queuedShard(record.id), qdue: record.queuedAt ?? record.createdAt } : {}),
    };
    try {
      await this.#client.send(
        new PutCommand({ TableName: this.#table, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async get(id: string): Promise<ExecutionRecord | undefined> {
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: recordKey(id), ConsistentRead: true }));
    return Item === undefined ? undefined : toRecord(Item);
  }

  async getMany(ids: readonly string[]): Promise<(ExecutionRecord | undefined)[]> {
    const found = new Map<string, ExecutionRecord>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map(recordKey);
      // BatchGetItem may return part of the keys as unprocessed under load: ask again.
      while (keys !== undefined && keys.length > 0) {
        const out: BatchGetCommandOutput = await this.#client.send(
          new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.#table] ?? []) {
          const record = toRecord(item);
          found.set(record.id, record);
        }
        keys = out.UnprocessedKeys?.[this.#table]?.Keys;
      }
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
    if (changes.state !== undefined) {
      // Into `byQueued` (due when queued or, for a retry, at its notBefore), or out of it.
      Object.assign(names, { "#qs": "qs", "#qdue": "qdue" });
      if (changes.state === State.Queued) {
        Object.assign(values, { ":qs": queuedShard(id), ":qdue": changes.notBefore ?? changes.queuedAt ?? 0 });
        sets.push("#qs = :qs", "#qdue = :qdue");
      } else removes.push("#qs", "#qdue");
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
      return Attributes === undefined ? undefined : toRecord(Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async addEdges(edges: readonly Edge[]): Promise<void> {
    // One conditional put per edge, in parallel: an existing edge (a retried registration)
    // is left as it is, released or not.
    await Promise.all(
      edges.map(async (edge) => {
        const item = { ...edge, ...edgeItemKey(edge), type: "edge", run: edge.runId, rsk: `D#${edgeKey(edge)}`, ...this.#expiry(edge.createdAt) };
        try {
          await this.#client.send(
            new PutCommand({ TableName: this.#table, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
          );
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }),
    );
  }

  async release(edges: readonly Edge[]): Promise<Release | undefined> {
    const first = edges[0];
    if (first === undefined) return undefined;
    const markEdge = (edge: Edge) => ({
      TableName: this.#table,
      Key: edgeItemKey(edge),
      UpdateExpression: "SET released = :true",
      ConditionExpression: "released = :false",
      ExpressionAttributeValues: { ":true": true, ":false": false },
    });
    let open = [...edges];
    // Whether the downstream still counts these edges; once it is found not to, the edges
    // are only marked.
    let counts = true;
    let conflicts = 0;
    while (open.length > 0) {
      const counted = open.filter((edge) => edge.waits).length;
      const decrement = counts && counted > 0;
      const items: TransactItems = open.map((edge) => ({ Update: markEdge(edge) }));
      if (decrement) items.push({ Update: this.#decrement(first, counted) });
      try {
        await this.#client.send(new TransactWriteCommand({ TransactItems: items }));
        return await this.#released(first.downstreamId, decrement);
      } catch (error) {
        const reasons = cancellationCodes(error);
        if (reasons === undefined) throw error;
        // Edges released already (a replay, the other of worker and coordinator) drop out.
        const released = new Set(open.filter((_, i) => reasons[i] === "ConditionalCheckFailed"));
        if (released.size > 0) open = open.filter((edge) => !released.has(edge));
        else if (decrement && reasons[open.length] === "ConditionalCheckFailed") counts = false;
        else if (reasons.includes("TransactionConflict") && conflicts < MAX_CONFLICT_RETRIES) {
          // Another release into the same downstream holds the item: try again shortly.
          conflicts += 1;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * conflicts));
        } else throw error;
      }
    }
    return undefined;
  }

  #decrement(edge: Edge, count: number) {
    return {
      TableName: this.#table,
      Key: recordKey(edge.downstreamId),
      UpdateExpression: "SET pending = pending - :count",
      ConditionExpression: "generation = :generation AND pending >= :count AND #state IN (:waiting, :suspended)",
      ExpressionAttributeNames: { "#state": "state" },
      ExpressionAttributeValues: {
        ":count": count,
        ":generation": edge.generation,
        ":waiting": State.Waiting,
        ":suspended": State.Suspended,
      },
    };
  }

  async #released(downstreamId: string, decremented: boolean): Promise<Release | undefined> {
    const downstream = await this.get(downstreamId);
    return downstream === undefined ? undefined : { downstream, decremented };
  }

  async edgesFrom(upstreamId: string): Promise<Edge[]> {
    const items = await this.#query({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :edges)",
      ExpressionAttributeValues: { ":pk": `X#${upstreamId}`, ":edges": "D#" },
      ConsistentRead: true,
    });
    return items.map(toEdge);
  }

  async executions(runId: string): Promise<ExecutionRecord[]> {
    // The index's keys of the run's records alone (edges sort under "D#"), then the
    // records, a hundred a request: a sweep of 10,000 is about a hundred requests.
    const keys = await this.#query({
      IndexName: "byRun",
      KeyConditionExpression: "run = :run AND begins_with(rsk, :records)",
      ExpressionAttributeValues: { ":run": runId, ":records": "X#" },
    });
    return (await this.#items(keys)).map(toRecord);
  }

  async run(runId: string): Promise<{ executions: ExecutionRecord[]; edges: Edge[] } | undefined> {
    const keys = await this.#query({
      IndexName: "byRun",
      KeyConditionExpression: "run = :run",
      ExpressionAttributeValues: { ":run": runId },
    });
    if (keys.length === 0) return undefined;
    const items = await this.#items(keys);
    return {
      executions: items.filter((i) => i.type === "execution").map(toRecord),
      edges: items.filter((i) => i.type === "edge").map(toEdge),
    };
  }

  async runs(query: RunQuery): Promise<ExecutionRecord[]> {
    const byTask = query.taskName !== undefined;
    const after = query.createdAfter ?? 0;
    const before = query.createdBefore ?? Number.MAX_SAFE_INTEGER;
    const keys = await this.#query(
      {
        IndexName: byTask ? "byWorkflow" : "byStart",
        KeyConditionExpression: `${byTask ? "rootTask" : "root"} = :key AND createdAt BETWEEN :after AND :before`,
        ExpressionAttributeValues: { ":key": query.taskName ?? "run", ":after": after, ":before": before },
        ScanIndexForward: false,
      },
      query.limit ?? 50,
    );
    return (await this.#items(keys)).map(toRecord);
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
    // The index is read eventually consistent: keep what the table still says is queued.
    const records = (await this.#items(keys.flat())).map(toRecord).filter((r) => r.state === State.Queued);
    return records.sort((a, b) => (a.queuedAt ?? 0) - (b.queuedAt ?? 0)).slice(0, query.limit);
  }

  /** The items with these keys (as an index returns them), in the same order. */
  async #items(keys: readonly Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const found = new Map<string, Record<string, unknown>>();
    const id = (item: Record<string, unknown>) => `${String(item.pk)}|${String(item.sk)}`;
    for (let i = 0; i < keys.length; i += 100) {
      let batch: Record<string, unknown>[] | undefined = keys.slice(i, i + 100).map((k) => ({ pk: k.pk, sk: k.sk }));
      while (batch !== undefined && batch.length > 0) {
        const out: BatchGetCommandOutput = await this.#client.send(
          new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: batch, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.#table] ?? []) found.set(id(item), item);
        batch = out.UnprocessedKeys?.[this.#table]?.Keys;
      }
    }
    return keys.map((k) => found.get(id(k))).filter((item): item is Record<string, unknown> => item !== undefined);
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

function conditionOf(expect: Expectation, names: Record<string, string>, values: Record<string, unknown>): string {
  const parts: string[] = [];
  const equal = (attribute: string, value: unknown) => {
    names[`#e_${attribute}`] = attribute;
    values[`:e_${attribute}`] = value;
    parts.push(`#e_${attribute} = :e_${attribute}`);
  };
  if (typeof expect.state === "string") equal("state", expect.state);
  else if (expect.state !== undefined) {
    names["#e_state"] = "state";
    const options = expect.state.map((state, i) => {
      values[`:e_state${i}`] = state;
      return `:e_state${i}`;
    });
    parts.push(`#e_state IN (${options.join(", ")})`);
  }
  if (expect.attempt !== undefined) equal("attempt", expect.attempt);
  if (expect.generation !== undefined) equal("generation", expect.generation);
  if (expect.guarded !== undefined) equal("guarded", expect.guarded);
  if (expect.pending !== undefined) equal("pending", expect.pending);
  if (expect.startedBefore !== undefined) {
    names["#e_startedAt"] = "startedAt";
    values[":e_startedBefore"] = expect.startedBefore;
    parts.push("#e_startedAt <= :e_startedBefore");
  }
  if (expect.dueBy !== undefined) {
    names["#e_notBefore"] = "notBefore";
    values[":e_dueBy"] = expect.dueBy;
    parts.push("(attribute_not_exists(#e_notBefore) OR #e_notBefore <= :e_dueBy)");
  }
  return parts.join(" AND ");
}

function toRecord(item: Record<string, unknown>): ExecutionRecord {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !storageKeys.has(key))) as unknown as ExecutionRecord;
}

function toEdge(item: Record<string, unknown>): Edge {
  return {
    upstreamId: item.upstreamId as string,
    downstreamId: item.downstreamId as string,
    runId: item.runId as string,
    kind: item.kind === EdgeKind.Await ? EdgeKind.Await : EdgeKind.Argument,
    waits: item.waits === true,
    generation: item.generation as number,
    ...(typeof item.fanIn === "number" ? { fanIn: item.fanIn } : {}),
    released: item.released === true,
    createdAt: item.createdAt as number,
  };
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === "ConditionalCheckFailedException";
}

function cancellationCodes(error: unknown): (string | undefined)[] | undefined {
  if ((error as { name?: unknown } | undefined)?.name !== "TransactionCanceledException") return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  return reasons?.map((r) => r.Code);
}
