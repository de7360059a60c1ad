/**
 * An execution store that fails on command, wrapping a real one: throw before a write
 * (nothing applied), or apply the write and then throw (a lost response). Its limit store,
 * when the inner store has one, fails the same way, on the same list of faults.
 */
import type { Edge, ExecutionRecord, Transition } from "../../sdk/engine/model.ts";
import type {
  ExecutionStore,
  Expectation,
  IdempotencyRecord,
  LimitStore,
  LimitWaiter,
  Slot,
  Slots,
  QueuedQuery,
  Release,
  ReleaseOptions,
  ReuseCondition,
  ReuseRecord,
  RunQuery,
} from "../../sdk/engine/ports.ts";
import type { MaybePromise } from "../../sdk/engine/step.ts";

/** Where a fault strikes. */
export type FaultMode = "before" | "after";

/** A fault: which call, on which execution, how, how many times. */
export interface Fault {
  readonly method: "create" | "update" | "release" | "addEdges" | "putIdempotencyRecord" | LimitFaultMethod;
  /**
   * The execution concerned: the record's id, or the edge's downstream (an idempotency
   * record's execution; a limit's holder or held execution). `countStart` has none.
   */
  readonly id?: string;
  readonly mode: FaultMode;
  /** Only updates that move the record into this state. */
  readonly toState?: string;
  /** How many matching calls fail; then the fault is spent. */
  times: number;
}

/** The writes of the limit store that fail on command. */
export type LimitFaultMethod = "acquire" | "vacate" | "hold" | "unhold" | "countStart";

/** Thrown by an injected fault. */
export class InjectedFault extends Error {
  override name = "InjectedFault";
}

/** Wraps `inner`, failing the calls that match a fault. */
export class FaultyStore implements ExecutionStore {
  readonly faults: Fault[] = [];
  readonly #inner: ExecutionStore;
  /** The inner store's limit counters, failing on the faults of {@link LimitFaultMethod}s. */
  readonly limits?: LimitStore;
  /**
   * When set, how many turns of the microtask queue each call waits before it reaches the
   * inner store: drawn at random, it varies how handlers running at once interleave.
   */
  jitter: (() => number) | undefined;

  /** @param inner - the real store */
  constructor(inner: ExecutionStore) {
    this.#inner = inner;
    // Without it an engine over this store would run limited tasks with no gate at all.
    if (inner.limits !== undefined) this.limits = new FaultyLimitStore(inner.limits, (method, id, run) => this.#call(method, id, run), (run) => this.#read(run));
  }

  /** Waits the turns {@link jitter} draws (none without it). */
  async #pause(): Promise<void> {
    const turns = this.jitter?.() ?? 0;
    for (let turn = 0; turn < turns; turn += 1) await Promise.resolve();
  }

  /** A read, after the jitter's turns when there is one. */
  #read<T>(run: () => MaybePromise<T>): MaybePromise<T> {
    return this.jitter === undefined ? run() : this.#pause().then(run);
  }

  /** Adds a fault. */
  inject(fault: Fault): void {
    this.faults.push(fault);
  }

  async #call<T>(method: Fault["method"], id: string | undefined, run: () => MaybePromise<T>, toState?: string): Promise<T> {
    if (this.jitter !== undefined) await this.#pause();
    const fault = this.faults.find(
      (f) =>
        f.method === method &&
        f.times > 0 &&
        (f.id === undefined || f.id === id) &&
        (f.toState === undefined || f.toState === toState),
    );
    if (fault === undefined) return run();
    fault.times -= 1;
    if (fault.mode === "before") throw new InjectedFault(`${method} of ${id ?? "?"} failed before writing`);
    await run();
    throw new InjectedFault(`${method} of ${id ?? "?"} was written, but its response was lost`);
  }

  create(record: ExecutionRecord): Promise<boolean> {
    return this.#call("create", record.id, () => this.#inner.create(record));
  }

  get(id: string): MaybePromise<ExecutionRecord | undefined> {
    return this.#read(() => this.#inner.get(id));
  }

  getMany(ids: readonly string[], options?: { readonly consistent?: boolean }): MaybePromise<(ExecutionRecord | undefined)[]> {
    return this.#read(() => this.#inner.getMany(ids, options));
  }

  update(id: string, expect: Expectation, changes: Partial<ExecutionRecord>, transition?: Transition): Promise<ExecutionRecord | undefined> {
    return this.#call("update", id, () => this.#inner.update(id, expect, changes, transition), changes.state);
  }

  addEdges(edges: readonly Edge[]): Promise<void> {
    return this.#call("addEdges", edges[0]?.downstreamId, () => this.#inner.addEdges(edges));
  }

  release(edges: readonly Edge[], options?: ReleaseOptions): Promise<Release | undefined> {
    return this.#call("release", edges[0]?.downstreamId, () => this.#inner.release(edges, options));
  }

  edgesFrom(upstreamId: string): MaybePromise<Edge[]> {
    return this.#inner.edgesFrom(upstreamId);
  }

  children(parentId: string, runId: string): MaybePromise<ExecutionRecord[]> {
    return this.#inner.children(parentId, runId);
  }

  executions(runId: string): MaybePromise<ExecutionRecord[]> {
    return this.#inner.executions(runId);
  }

  run(runId: string): MaybePromise<{ executions: ExecutionRecord[]; edges: Edge[] } | undefined> {
    return this.#inner.run(runId);
  }

  runs(query: RunQuery): MaybePromise<ExecutionRecord[]> {
    return this.#inner.runs(query);
  }

  putIdempotencyRecord(record: IdempotencyRecord): Promise<IdempotencyRecord> {
    return this.#call("putIdempotencyRecord", record.executionId, () => this.#inner.putIdempotencyRecord(record));
  }

  callbackKey(candidate: string): MaybePromise<string> {
    return this.#inner.callbackKey(candidate);
  }

  queued(query: QueuedQuery): MaybePromise<ExecutionRecord[]> {
    return this.#inner.queued(query);
  }

  getReuseRecord(key: string, now: number): MaybePromise<ReuseRecord | undefined> {
    return this.#inner.getReuseRecord(key, now);
  }

  putReuseRecord(record: ReuseRecord, condition: ReuseCondition): MaybePromise<ReuseRecord | undefined> {
    return this.#inner.putReuseRecord(record, condition);
  }
}

/** A limit store failing on command: reads pass, writes fail as {@link FaultyStore}'s faults say. */
class FaultyLimitStore implements LimitStore {
  readonly #inner: LimitStore;
  readonly #call: <T>(method: LimitFaultMethod, id: string | undefined, run: () => MaybePromise<T>) => Promise<T>;
  readonly #read: <T>(run: () => MaybePromise<T>) => MaybePromise<T>;

  constructor(
    inner: LimitStore,
    call: <T>(method: LimitFaultMethod, id: string | undefined, run: () => MaybePromise<T>) => Promise<T>,
    read: <T>(run: () => MaybePromise<T>) => MaybePromise<T>,
  ) {
    this.#inner = inner;
    this.#call = call;
    this.#read = read;
  }

  acquire(key: string, id: string, limit: number): Promise<Slot> {
    return this.#call("acquire", id, () => this.#inner.acquire(key, id, limit));
  }

  slots(key: string, ids: readonly string[]): MaybePromise<Slots> {
    return this.#read(() => this.#inner.slots(key, ids));
  }

  vacate(key: string, id: string): Promise<void> {
    return this.#call("vacate", id, () => this.#inner.vacate(key, id));
  }

  hold(key: string, waiter: LimitWaiter): Promise<void> {
    return this.#call("hold", waiter.id, () => this.#inner.hold(key, waiter));
  }

  unhold(key: string, waiter: LimitWaiter): Promise<void> {
    return this.#call("unhold", waiter.id, () => this.#inner.unhold(key, waiter));
  }

  waiters(key: string, count: number, after?: LimitWaiter): MaybePromise<LimitWaiter[]> {
    return this.#read(() => this.#inner.waiters(key, count, after));
  }

  countStart(key: string, window: number, periodMs: number, now: number): Promise<number> {
    return this.#call("countStart", undefined, () => this.#inner.countStart(key, window, periodMs, now));
  }
}
