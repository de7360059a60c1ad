/** The in-memory execution store of the embedded engine. */
import { State, isTerminal, type Edge, type ExecutionRecord, type Transition } from "../engine/model.ts";
import type { ExecutionStore, Expectation, IdempotencyRecord, QueuedQuery, Release, ReuseCondition, ReuseRecord, RunQuery } from "../engine/ports.ts";
import { MemoryLimitStore } from "./memory-limit-store.ts";

function meets(record: ExecutionRecord, expect: Expectation): boolean {
  const { state } = expect;
  if (state !== undefined && (typeof state === "string" ? record.state !== state : !state.includes(record.state))) {
    return false;
  }
  return (
    (expect.attempt === undefined || record.attempt === expect.attempt) &&
    (expect.heldSince === undefined || record.held?.since === expect.heldSince) &&
    (expect.generation === undefined || record.generation === expect.generation) &&
    (expect.guarded === undefined || record.guarded === expect.guarded) &&
    (expect.pending === undefined || record.pending === expect.pending) &&
    (expect.startedBefore === undefined || (record.startedAt !== undefined && record.startedAt <= expect.startedBefore)) &&
    (expect.dueBy === undefined || record.notBefore === undefined || record.notBefore <= expect.dueBy)
  );
}

/**
 * Keeps records and edges in maps. Each method answers at once and runs to completion
 * without yielding, which makes every conditional write and every release atomic, as
 * DynamoDB's are.
 */
export class MemoryExecutionStore implements ExecutionStore {
  readonly #records = new Map<string, ExecutionRecord>();
  /**
   * The edges into each downstream, by kind and generation: one key string per group rather
   * than one per edge, which matters for a join of thousands.
   */
  readonly #edgesInto = new Map<string, EdgeGroup>();
  /**
   * The edges out of each upstream: the edge itself when there is one (most upstreams feed
   * one downstream, and thousands of them are kept), an array when there are more.
   */
  readonly #edgesFrom = new Map<string, Edge | Edge[]>();
  #lastFromId: string | undefined;
  #lastFrom: Edge | Edge[] | undefined;
  readonly #byRun = new Map<string, string[]>();
  readonly #roots: string[] = [];
  /** Each root's position in `#roots`, where a listing that stopped at it goes on. */
  readonly #rootAt = new Map<string, number>();
  readonly #keys = new Map<string, IdempotencyRecord>();
  readonly #reuse = new Map<string, ReuseRecord>();
  #callbackKey: string | undefined;
  /** The counters of concurrency and rate limits. */
  readonly limits = new MemoryLimitStore();

  create(record: ExecutionRecord): boolean {
    if (this.#records.has(record.id)) return false;
    this.#records.set(record.id, record);
    append(this.#byRun, record.runId, record.id);
    if (record.parentId === undefined) this.#rootAt.set(record.id, this.#roots.push(record.id) - 1);
    return true;
  }

  get(id: string): ExecutionRecord | undefined {
    return this.#records.get(id);
  }

  getMany(ids: readonly string[]): (ExecutionRecord | undefined)[] {
    return ids.map((id) => this.#records.get(id));
  }

  update(
    id: string,
    expect: Expectation,
    changes: Partial<ExecutionRecord>,
    transition?: Transition,
  ): ExecutionRecord | undefined {
    const record = this.#records.get(id);
    if (record === undefined || !meets(record, expect)) return undefined;
    Object.assign(record, changes);
    if (transition !== undefined) {
      // Short histories (most are three entries) are copied at their exact length: push()
      // would give the array room for 17, and thousands of histories are kept.
      const { history } = record;
      if (history.length === 1) record.history = [history[0] as Transition, transition];
      else if (history.length === 2) record.history = [history[0] as Transition, history[1] as Transition, transition];
      else history.push(transition);
    }
    return record;
  }

  addEdges(edges: readonly Edge[]): void {
    let last: Edge | undefined;
    let group: EdgeGroup | undefined;
    for (const edge of edges) {
      if (last === undefined || !sameGroup(edge, last)) {
        const key = groupKey(edge);
        group = this.#edgesInto.get(key);
        if (group === undefined) this.#edgesInto.set(key, (group = { edges: [], byUpstream: undefined }));
      }
      last = edge;
      const from = this.#edgesFrom.get(edge.upstreamId);
      if (group === undefined || this.#find(group, edge, from) !== undefined) continue;
      // The engine hands over fresh edge objects: keep them rather than copies.
      group.edges.push(edge);
      group.byUpstream?.set(edge.upstreamId, edge);
      if (from === undefined) this.#edgesFrom.set(edge.upstreamId, edge);
      else if (Array.isArray(from)) from.push(edge);
      else this.#edgesFrom.set(edge.upstreamId, [from, edge]);
    }
  }

  release(edges: readonly Edge[]): Release | undefined {
    const first = edges[0];
    const downstream = first === undefined ? undefined : this.#records.get(first.downstreamId);
    if (first === undefined || downstream === undefined) return undefined;
    let marked = 0;
    let counted = 0;
    let last: Edge | undefined;
    let group: EdgeGroup | undefined;
    for (const edge of edges) {
      // The engine mostly hands back the very edges edgesFrom() gave it: find those without
      // building their group's key.
      let stored: Edge | undefined;
      if (this.#isStored(edge)) {
        stored = edge;
      } else {
        if (last === undefined || !sameGroup(edge, last)) group = this.#edgesInto.get(groupKey(edge));
        last = edge;
        stored = group === undefined ? undefined : this.#find(group, edge, this.#edgesFrom.get(edge.upstreamId));
      }
      if (stored === undefined || stored.released) continue;
      stored.released = true;
      marked += 1;
      if (stored.waits) counted += 1;
    }
    if (marked === 0) return undefined;
    const decremented =
      counted > 0 && first.generation === downstream.generation && downstream.pending >= counted && !isTerminal(downstream.state);
    if (decremented) downstream.pending -= counted;
    return { downstream, decremented };
  }

  /**
   * The stored edge of `group` from `edge`'s upstream, whose edges are `from`. Found among
   * the upstream's own edges while it has few, the usual case; otherwise by an index of the
   * group by upstream, built on first need (a fresh join of thousands never needs one).
   */
  #find(group: EdgeGroup, edge: Edge, from: Edge | Edge[] | undefined): Edge | undefined {
    if (group.byUpstream !== undefined) return group.byUpstream.get(edge.upstreamId);
    if (group.edges.length === 0 || from === undefined) return undefined;
    if (!Array.isArray(from)) return sameGroup(from, edge) ? from : undefined;
    if (from.length <= maxScan) return from.find((stored) => sameGroup(stored, edge));
    group.byUpstream = new Map(group.edges.map((stored) => [stored.upstreamId, stored]));
    return group.byUpstream.get(edge.upstreamId);
  }

  edgesFrom(upstreamId: string): Edge[] {
    const from = this.#edgesFrom.get(upstreamId);
    // The engine releases what it read here at once: remembered, the release finds its
    // edges without a second lookup.
    this.#lastFromId = upstreamId;
    this.#lastFrom = from;
    if (from === undefined) return none;
    return Array.isArray(from) ? from : [from];
  }

  /** Whether `edge` is the very object kept for its upstream (found without building its group's key). */
  #isStored(edge: Edge): boolean {
    // A remembered entry may be out of date (an edge added since): then this answers false,
    // and the caller finds the edge by its group instead.
    const from = edge.upstreamId === this.#lastFromId ? this.#lastFrom : this.#edgesFrom.get(edge.upstreamId);
    return from === edge || (Array.isArray(from) && from.length <= maxScan && from.includes(edge));
  }

  children(parentId: string, runId: string): ExecutionRecord[] {
    return this.executions(runId).filter((record) => record.parentId === parentId);
  }

  executions(runId: string): ExecutionRecord[] {
    return this.#lookup(this.#byRun.get(runId));
  }

  run(runId: string): { executions: ExecutionRecord[]; edges: Edge[] } | undefined {
    const ids = this.#byRun.get(runId);
    if (ids === undefined) return undefined;
    const executions = this.#lookup(ids);
    const edges = executions.flatMap((e) => this.#edgesFrom.get(e.id) ?? none);
    return { executions, edges };
  }

  runs(query: RunQuery): ExecutionRecord[] {
    const limit = query.limit ?? 50;
    const found: ExecutionRecord[] = [];
    const { after } = query;
    const at = after === undefined ? undefined : this.#rootAt.get(after.id);
    for (let i = (at ?? this.#roots.length) - 1; i >= 0 && found.length < limit; i -= 1) {
      const root = this.#records.get(this.#roots[i] ?? "");
      if (root === undefined || (query.taskName !== undefined && root.taskName !== query.taskName)) continue;
      // A position this store never listed (another server's): the runs created before it.
      if (after !== undefined && at === undefined && root.createdAt >= after.createdAt) continue;
      if (query.createdBefore !== undefined && root.createdAt > query.createdBefore) continue;
      if (query.createdAfter !== undefined && root.createdAt < query.createdAfter) break;
      if (query.state !== undefined && root.state !== query.state) continue;
      found.push(root);
    }
    return found;
  }

  queued(query: QueuedQuery): ExecutionRecord[] {
    // Only the reconciler asks, rarely: a pass over every record keeps the writes free of an index.
    const found: ExecutionRecord[] = [];
    for (const record of this.#records.values()) {
      // A sleeping execution waits for its wake message as a queued one waits for its own.
      if (record.state !== State.Queued && record.state !== State.Sleeping) continue;
      const due = dueAt(record);
      if (due <= query.dueBefore && (query.dueAfter === undefined || due >= query.dueAfter)) found.push(record);
    }
    return found.sort((a, b) => dueAt(a) - dueAt(b)).slice(0, query.limit);
  }

  putIdempotencyRecord(record: IdempotencyRecord): IdempotencyRecord {
    const stored = this.#keys.get(record.key);
    if (stored !== undefined) return stored;
    this.#keys.set(record.key, record);
    return record;
  }

  getReuseRecord(key: string, now: number): ReuseRecord | undefined {
    const found = this.#reuse.get(key);
    return found === undefined || (found.expiresAt !== undefined && found.expiresAt <= now) ? undefined : found;
  }

  putReuseRecord(record: ReuseRecord, condition: ReuseCondition): ReuseRecord {
    const found = this.getReuseRecord(record.key, record.createdAt);
    const holds = "always" in condition || found === undefined || ("replacing" in condition && found.executionId === condition.replacing);
    if (!holds) return found;
    this.#reuse.set(record.key, record);
    return record;
  }

  callbackKey(candidate: string): string {
    this.#callbackKey ??= candidate;
    return this.#callbackKey;
  }

  #lookup(ids: readonly string[] | undefined): ExecutionRecord[] {
    return (ids ?? []).flatMap((id) => this.#records.get(id) ?? []);
  }
}

const none: Edge[] = [];
/** The most edges of one upstream searched one by one for a group's edge. */
const maxScan = 8;

/** The edges into one downstream of one kind and generation. */
interface EdgeGroup {
  readonly edges: Edge[];
  /** The same edges by upstream id, once a lookup needed it. */
  byUpstream: Map<string, Edge> | undefined;
}

/** When a queued execution's attempt became due: when it was queued, or its retry's (or wake's) `notBefore`. */
function dueAt(record: ExecutionRecord): number {
  const queuedAt = record.queuedAt ?? record.createdAt;
  return record.notBefore !== undefined && record.notBefore > queuedAt ? record.notBefore : queuedAt;
}

function groupKey(edge: Edge): string {
  return `${edge.downstreamId}|${edge.kind}|${edge.generation}`;
}

function sameGroup(a: Edge, b: Edge): boolean {
  return a.downstreamId === b.downstreamId && a.kind === b.kind && a.generation === b.generation;
}

function append<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
