/**
 * The ports the engine drives. Each backend (in memory, AWS) implements them; the engine
 * holds the logic and performs no I/O of its own.
 */
import type { Edge, ExecutionRecord, ExecutionState, Payload, TaskMessage, Transition } from "./model.ts";
import type { MaybePromise } from "./step.ts";

/** What a conditional update requires of the stored record. */
export interface Expectation {
  readonly state?: ExecutionState | readonly ExecutionState[];
  /** The record is held by a limit since this time (`held.since`): of racing admitters, one clears it. */
  readonly heldSince?: number;
  readonly attempt?: number;
  readonly generation?: number;
  readonly guarded?: boolean;
  readonly pending?: number;
  /** The record's `startedAt` is at or before this time. */
  readonly startedBefore?: number;
  /** The record has no `notBefore`, or one at or before this time (its attempt is due). */
  readonly dueBy?: number;
}

/** The outcome of releasing an edge. */
export interface Release {
  /** The downstream after the release (decremented or not). */
  readonly downstream: ExecutionRecord;
  /** Whether this call decremented the downstream's counter. */
  readonly decremented: boolean;
  /**
   * Whether this call also moved the downstream to `queued` (see `ReleaseOptions.queueAt`):
   * its message is then the caller's to send.
   */
  readonly queued?: boolean;
}

/** How a release is made. */
export interface ReleaseOptions {
  /**
   * The release has probably been made already (the coordinator's backstop after a
   * worker's release): a store that can tell by reading the downstream reads first, since
   * a read costs less than a write that fails its condition.
   */
  readonly probe?: boolean;
  /**
   * A store that can may queue the downstream in the same write, at this time, when the
   * release brings its counter to zero and its guard is gone (a release that counts the
   * whole wait, as a wait for one execution does): one write instead of two.
   */
  readonly queueAt?: number;
}

/** How {@link ExecutionStore.getMany} reads. */
export interface ReadOptions {
  /**
   * `false` allows an eventually consistent read (half the cost on DynamoDB), which may
   * return an older version of a record or miss a new one: safe for a record found in a
   * terminal state (those never change), while any other answer must be read again
   * consistently before anything is decided on it. A store whose reads are always
   * consistent ignores it.
   * @default true
   */
  readonly consistent?: boolean;
}

/**
 * Where a listing of runs stopped: the last run it returned. The next page starts after it
 * (an API hands it out as an opaque cursor).
 */
export interface RunPosition {
  readonly createdAt: number;
  readonly id: string;
}

/**
 * Filters for listing runs. A listing returns `limit` runs unless fewer are left: a store
 * that filters reads on until it has found `limit` or reached the end.
 */
export interface RunQuery {
  readonly taskName?: string;
  /** Only runs whose root execution is in this state. */
  readonly state?: ExecutionState;
  /** @default 50 */
  readonly limit?: number;
  /** Only runs listed after this one: the page after the one it ended. */
  readonly after?: RunPosition;
  /** Only runs created at or after this time (epoch milliseconds). */
  readonly createdAfter?: number;
  /** Only runs created at or before this time (epoch milliseconds). */
  readonly createdBefore?: number;
}

/** Filters for listing queued executions (see {@link ExecutionStore.queued}). */
export interface QueuedQuery {
  /** Only executions whose attempt became due at or before this time (epoch milliseconds). */
  readonly dueBefore: number;
  /** Only executions whose attempt became due at or after this time. */
  readonly dueAfter?: number;
  readonly limit: number;
}

/**
 * What an idempotency key started: written once, before anything else of a keyed start,
 * so a request with other arguments is refused having written nothing.
 */
export interface IdempotencyRecord {
  /** The key's identity: a digest of the caller, the workflow and the key. */
  readonly key: string;
  /** The execution the key started (a random id, never derived from the key). */
  readonly executionId: string;
  /** A digest of the encoded arguments it started with. */
  readonly digest: string;
  /** Epoch milliseconds, for retention. */
  readonly createdAt: number;
}

/**
 * A record by which calls reuse an execution (`sdk/runtime/reuse.ts`): a cached result, a
 * debounce window's open execution, or which execution a debounced call inside a task
 * joined. Kept apart from executions, as idempotency records are.
 */
export interface ReuseRecord {
  /** A digest naming what is reused (the kind of record is part of it). */
  readonly key: string;
  readonly executionId: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** When it stops counting (epoch milliseconds): a read then finds nothing. */
  readonly expiresAt?: number;
  /** A cached result: the source execution's, as its record holds it. */
  readonly result?: Payload;
  /** A debounce window: when its first call came (epoch milliseconds), for `maxWaitMs`. */
  readonly since?: number;
}

/** The condition of {@link ExecutionStore.putReuseRecord}. */
export type ReuseCondition =
  /** Write whatever is stored. */
  | { readonly always: true }
  /** Write only if nothing (or an expired record) is stored under the key. */
  | { readonly absent: true }
  /** Write only if nothing is stored, or the record stored names this execution. */
  | { readonly replacing: string };

/**
 * Execution records and dependency edges. Every state change is conditional: it applies
 * only when the stored record matches the expectation, so a duplicate or stale actor loses.
 * Methods may answer at once (in memory) or with a promise (over the network).
 */
export interface ExecutionStore {
  /** Puts the record unless one with its id exists; returns whether it was created. */
  create(record: ExecutionRecord): MaybePromise<boolean>;
  /** Reads one record. */
  get(id: string): MaybePromise<ExecutionRecord | undefined>;
  /** Reads several records at once (a batch read where the backend has one); in order. */
  getMany(ids: readonly string[], options?: ReadOptions): MaybePromise<(ExecutionRecord | undefined)[]>;
  /**
   * Applies `changes` (and appends `transition` to the history when given) if the record
   * meets `expect`; returns the updated record, or `undefined` when the condition failed.
   * A `history` in `changes` replaces the stored one: the engine writes a compacted
   * history that way, with no `transition`, when the history is full (`history.ts`).
   */
  update(
    id: string,
    expect: Expectation,
    changes: Partial<ExecutionRecord>,
    transition?: Transition,
  ): MaybePromise<ExecutionRecord | undefined>;
  /** Adds edges that do not exist yet; existing ones are left as they are. */
  addEdges(edges: readonly Edge[]): MaybePromise<void>;
  /**
   * Releases edges into one downstream, all of one generation (at most 99 of them). In one
   * atomic step it counts every edge not yet counted and, if their generation is the
   * downstream's current one and the downstream is blocked, decrements its counter by how
   * many it counted: each edge is counted once however often it is released (the memory
   * store marks the edges; the DynamoDB store records their slots on the downstream).
   * Returns the downstream as found when nothing was counted, or `undefined` when there is
   * nothing to say (no such downstream, or every edge released already).
   */
  release(edges: readonly Edge[], options?: ReleaseOptions): MaybePromise<Release | undefined>;
  /** The edges whose upstream is `upstreamId`. */
  edgesFrom(upstreamId: string): MaybePromise<Edge[]>;
  /**
   * The executions whose parent is `parentId` (of run `runId`), in one read: what a re-run
   * of the parent created before, so that it neither creates nor reads them again one by one.
   */
  children(parentId: string, runId: string): MaybePromise<ExecutionRecord[]>;
  /** Every execution of a run, without its edges (what a cancellation sweeps). */
  executions(runId: string): MaybePromise<ExecutionRecord[]>;
  /** Every execution and edge of a run. */
  run(runId: string): MaybePromise<{ executions: ExecutionRecord[]; edges: Edge[] } | undefined>;
  /** Root executions, newest first: `limit` of them, or fewer only at the end of the listing. */
  runs(query: RunQuery): MaybePromise<ExecutionRecord[]>;
  /**
   * Puts `record` unless a record with its key exists (a conditional put); returns the
   * record now stored under the key: `record` itself, or the one found. Idempotency
   * records are kept apart from executions: no run, listing or index shows them.
   */
  putIdempotencyRecord(record: IdempotencyRecord): MaybePromise<IdempotencyRecord>;
  /**
   * The deployment's callback key (what external executions' callback tokens are derived
   * with): the one stored, or `candidate` put first when there is none (a conditional put,
   * so concurrent first uses agree on one). Kept apart from executions, never listed.
   */
  callbackKey(candidate: string): MaybePromise<string>;
  /** The reuse record under `key`, unless there is none or it expired by `now` (epoch milliseconds). */
  getReuseRecord(key: string, now: number): MaybePromise<ReuseRecord | undefined>;
  /**
   * Puts a reuse record if `condition` holds; returns the record now stored under its key
   * (`record` itself, or the one that failed the condition, `undefined` if that one vanished
   * meanwhile). Never listed, never in a run.
   */
  putReuseRecord(record: ReuseRecord, condition: ReuseCondition): MaybePromise<ReuseRecord | undefined>;
  /**
   * Executions `queued` whose current attempt became due (when it was queued, or at its
   * retry's `notBefore`) within the query's bounds: those whose message may be lost. Read
   * by the reconciler without scanning every execution.
   */
  queued(query: QueuedQuery): MaybePromise<ExecutionRecord[]>;
  /**
   * Where the counters of concurrency and rate limits live (see `limits.ts`), kept apart
   * from executions like idempotency records. A store without it runs limited tasks as if
   * they had no limit.
   */
  readonly limits?: LimitStore;
}

/** An execution held by a concurrency limit, waiting for a slot. */
export interface LimitWaiter {
  readonly id: string;
  /** When it was held, epoch milliseconds: waiters are admitted oldest first. */
  readonly since: number;
}

/** What {@link LimitStore.acquire} answers. */
export interface Slot {
  /** Whether the id holds a slot now. */
  readonly admitted: boolean;
  /** Whether this call gave it the slot (it held none before). */
  readonly added: boolean;
  /** How many hold a slot now. */
  readonly holders: number;
}

/** What {@link LimitStore.slots} answers. */
export interface Slots {
  /** Those of the ids asked about that hold a slot. */
  readonly holding: readonly string[];
  /** How many hold a slot. */
  readonly holders: number;
}

/**
 * The storage of flow-control counters: a thin adapter (each method one conditional
 * operation on one item or one partition), the decisions being the engine's
 * (`limits.ts`), as Powertools' persistence layers leave all logic to their base. `key`
 * names one limit of one task for one key value.
 */
export interface LimitStore {
  /**
   * Adds `id` to the holders of `key` when it is not one and fewer than `limit` hold it,
   * in one atomic step; answers whether `id` holds a slot now, and how many hold one.
   * Idempotent: a holder asking again keeps its one slot.
   */
  acquire(key: string, id: string, limit: number): MaybePromise<Slot>;
  /** Which of `ids` hold a slot of `key`, and how many hold one, in one consistent read. */
  slots(key: string, ids: readonly string[]): MaybePromise<Slots>;
  /** Removes `id` from the holders of `key`; nothing when it holds no slot. */
  vacate(key: string, id: string): MaybePromise<void>;
  /** Notes a held execution (a repeat changes nothing). */
  hold(key: string, waiter: LimitWaiter): MaybePromise<void>;
  /** Forgets a held execution (nothing when it is not noted). */
  unhold(key: string, waiter: LimitWaiter): MaybePromise<void>;
  /** The `count` oldest held executions of `key`, oldest first, read consistently. */
  waiters(key: string, count: number, after?: LimitWaiter): MaybePromise<LimitWaiter[]>;
  /**
   * Counts one more start in window `window` of a rate limit (the `window`-th period of
   * `periodMs` since the epoch), in one atomic step with no condition, and answers the
   * window's count with it. A count over the limit is not a start: it only sends the caller
   * on to a later window. Windows that ended by `now` are in no one's way and may be dropped.
   */
  countStart(key: string, window: number, periodMs: number, now: number): MaybePromise<number>;
}

/** Delivers task messages at least once, optionally after a delay. */
export interface TaskQueue {
  send(messages: readonly TaskMessage[], delayMs?: number): MaybePromise<void>;
}

/** Holds payloads too large for a record. */
export interface BlobStore {
  put(key: string, data: string): MaybePromise<void>;
  get(key: string): MaybePromise<string>;
}

/** Time, injected so replays and property tests are reproducible. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  schedule(ms: number, fn: () => void): () => void;
}

/** Identifiers: fresh ones for runs, derived ones for children. */
export interface IdSource {
  /** A new unique id for a run's root execution. */
  fresh(): string;
  /** A stable id from its parts: the same parts always give the same id. */
  derive(parts: readonly string[]): string;
  /**
   * The id of a child of run `runId` whose derived id is `derived`, for a store that keeps
   * a run's executions together (DynamoDB: one partition per run). Without it, `derived`.
   */
  child?(runId: string, derived: string): string;
}
