/**
 * An execution store that fails on command, wrapping a real one: throw before a write
 * (nothing applied), or apply the write and then throw (a lost response).
 */
import type { Edge, ExecutionRecord, Transition } from "../../sdk/engine/model.ts";
import type { ExecutionStore, Expectation, IdempotencyRecord, QueuedQuery, Release, ReleaseOptions, ReuseCondition, ReuseRecord, RunQuery } from "../../sdk/engine/ports.ts";
import type { MaybePromise } from "../../sdk/engine/step.ts";

/** Where a fault strikes. */
export type FaultMode = "before" | "after";

/** A fault: which call, on which execution, how, how many times. */
export interface Fault {
  readonly method: "create" | "update" | "release" | "addEdges" | "putIdempotencyRecord";
  /** The execution concerned: the record's id, or the edge's downstream (an idempotency record's execution). */
  readonly id?: string;
  readonly mode: FaultMode;
  /** Only updates that move the record into this state. */
  readonly toState?: string;
  /** How many matching calls fail; then the fault is spent. */
  times: number;
}

/** Thrown by an injected fault. */
export class InjectedFault extends Error {
  override name = "InjectedFault";
}

/** Wraps `inner`, failing the calls that match a fault. */
export class FaultyStore implements ExecutionStore {
  readonly faults: Fault[] = [];
  readonly #inner: ExecutionStore;

  /** @param inner - the real store */
  constructor(inner: ExecutionStore) {
    this.#inner = inner;
  }

  /** Adds a fault. */
  inject(fault: Fault): void {
    this.faults.push(fault);
  }

  async #call<T>(method: Fault["method"], id: string | undefined, run: () => MaybePromise<T>, toState?: string): Promise<T> {
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
    return this.#inner.get(id);
  }

  getMany(ids: readonly string[], options?: { readonly consistent?: boolean }): MaybePromise<(ExecutionRecord | undefined)[]> {
    return this.#inner.getMany(ids, options);
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
