/**
 * The execution engine: the state machine of DESIGN section 2, over the ports. It
 * decides; the adapters behind the ports do the I/O. Every step is a conditional write,
 * so a duplicate delivery, a retried call or a stale worker changes nothing.
 * See ARCHITECTURE.md beside this file.
 */
import type { BlobStore, Clock, ExecutionStore, Expectation, TaskQueue } from "./ports.ts";
import {
  EdgeKind,
  State,
  WaitMode,
  isTerminal,
  type Edge,
  type ExecutionRecord,
  type ExecutionState,
  type Payload,
  type RunView,
  type TaskMessage,
} from "./model.ts";

/** What the engine needs to know of the tasks it runs. */
export interface TaskPolicy {
  /** The delay before the next attempt after `error` ended `attempt`, or `undefined` to fail. */
  retryDelayMs(taskName: string, error: unknown, attempt: number): number | undefined;
  /** Encodes an error for storage (the codec lives outside the engine). */
  encodeError(error: unknown): string;
}

/** The dependencies of an {@link ExecutionEngine}. */
export interface ExecutionEngineOptions {
  readonly store: ExecutionStore;
  readonly queue: TaskQueue;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly policy: TaskPolicy;
  /** Payloads longer than this many characters go to the blob store. */
  readonly blobThreshold: number;
  /** Told of every terminal transition this engine writes (for in-process waiters). */
  readonly onTerminal?: (record: ExecutionRecord) => void;
}

/** A new execution, as the runtime describes it. */
export interface NewExecution {
  readonly id: string;
  readonly runId: string;
  readonly parentId?: string | undefined;
  readonly taskName: string;
  /** The encoded arguments. */
  readonly args: string;
  /** Ids of the executions the arguments reference. */
  readonly refs: readonly string[];
  /** The subset of `refs` that must finish before the execution starts. */
  readonly waitOn: readonly string[];
}

/** How an attempt ended, as the runtime reports it. */
export type Outcome =
  | { readonly type: "completed"; readonly result: string; readonly forward?: string }
  | { readonly type: "failed"; readonly error: unknown }
  | { readonly type: "suspended"; readonly on: readonly string[]; readonly mode: WaitMode };

const blocked: readonly ExecutionState[] = [State.Waiting, State.Suspended];
const live: readonly ExecutionState[] = [State.Waiting, State.Queued, State.Running, State.Suspended];

/** The state machine of executions over the store, queue and blob ports. */
export class ExecutionEngine {
  readonly #o: ExecutionEngineOptions;

  /** @param options - the ports and the task policy */
  constructor(options: ExecutionEngineOptions) {
    this.#o = options;
  }

  /** The store this engine writes to. */
  get store(): ExecutionStore {
    return this.#o.store;
  }

  /**
   * Creates an execution and, once every upstream it waits for has finished, queues it.
   * Idempotent: registering the same id again finishes an interrupted registration or
   * returns the existing record.
   */
  async register(spec: NewExecution): Promise<ExecutionRecord> {
    const now = this.#o.clock.now();
    const waits = spec.waitOn.length > 0;
    const state = waits ? State.Waiting : State.Queued;
    // Every field is present from the start, so all records share one shape.
    const record: ExecutionRecord = {
      id: spec.id,
      runId: spec.runId,
      parentId: spec.parentId,
      taskName: spec.taskName,
      args: this.#inline(spec.args) ?? (await this.#offload(`${spec.id}/args`, spec.args)),
      refs: spec.refs,
      state,
      attempt: 1,
      generation: 1,
      pending: spec.waitOn.length,
      guarded: waits,
      waitMode: WaitMode.All,
      result: undefined,
      forward: undefined,
      error: undefined,
      notBefore: undefined,
      createdAt: now,
      queuedAt: waits ? undefined : now,
      startedAt: undefined,
      finishedAt: undefined,
      history: [{ state, at: now, attempt: 1 }],
    };
    const created = await this.#o.store.create(record);
    const current = created ? record : await this.#o.store.get(spec.id);
    if (current === undefined) throw new Error(`execution ${spec.id} vanished while it was being created`);
    if (spec.refs.length > 0) await this.#addArgumentEdges(spec, now);
    if (!current.guarded) {
      if (created && !waits) await this.#send(record);
      return current;
    }
    // Either this call created the record or an earlier one was interrupted before
    // removing the guard: finishing the registration is idempotent.
    return this.#arm(current, spec.waitOn, EdgeKind.Argument);
  }

  async #addArgumentEdges(spec: NewExecution, now: number): Promise<void> {
    const waitOn = new Set(spec.waitOn);
    const edges = spec.refs.map<Edge>((upstreamId) => ({
      upstreamId,
      downstreamId: spec.id,
      runId: spec.runId,
      kind: EdgeKind.Argument,
      waits: waitOn.has(upstreamId),
      generation: 1,
      released: false,
      createdAt: now,
    }));
    await this.#o.store.addEdges(edges);
  }

  /**
   * Releases the edges of upstreams that finished before the edges existed (an upstream
   * only releases the edges it can see when it finishes), then removes the guard.
   */
  async #arm(record: ExecutionRecord, upstreamIds: readonly string[], kind: EdgeKind): Promise<ExecutionRecord> {
    await Promise.all(
      upstreamIds.map(async (upstreamId) => {
        const upstream = await this.#o.store.get(upstreamId);
        if (upstream === undefined || !isTerminal(upstream.state)) return;
        await this.#o.store.release(this.#edge(record, upstreamId, kind));
      }),
    );
    const armed = await this.#o.store.update(
      record.id,
      { guarded: true, generation: record.generation },
      { guarded: false },
    );
    if (armed !== undefined) await this.#queueIfReady(armed);
    return armed ?? record;
  }

  #edge(record: ExecutionRecord, upstreamId: string, kind: EdgeKind): Edge {
    return {
      upstreamId,
      downstreamId: record.id,
      runId: record.runId,
      kind,
      waits: true,
      generation: record.generation,
      released: false,
      createdAt: this.#o.clock.now(),
    };
  }

  /** Queues a blocked execution whose counter is at zero and whose guard is gone; one caller wins. */
  async #queueIfReady(record: ExecutionRecord): Promise<void> {
    if (record.pending !== 0 || record.guarded || !blocked.includes(record.state)) return;
    const now = this.#o.clock.now();
    const queued = await this.#o.store.update(
      record.id,
      { state: blocked, generation: record.generation, guarded: false, pending: 0 },
      { state: State.Queued, queuedAt: now },
      { state: State.Queued, at: now, attempt: record.attempt },
    );
    if (queued !== undefined) await this.#send(queued);
  }

  #send(record: ExecutionRecord, delayMs?: number): Promise<void> {
    const message: TaskMessage = { executionId: record.id, taskName: record.taskName, attempt: record.attempt };
    return this.#o.queue.send([message], delayMs);
  }

  /**
   * Claims a delivered message: `queued → running` for the message's attempt. Returns
   * `undefined` for a duplicate or stale delivery, which the caller drops.
   */
  claim(message: TaskMessage): Promise<ExecutionRecord | undefined> {
    const now = this.#o.clock.now();
    return this.#o.store.update(
      message.executionId,
      { state: State.Queued, attempt: message.attempt },
      { state: State.Running, startedAt: now },
      { state: State.Running, at: now, attempt: message.attempt },
    );
  }

  /** Records how a running attempt ended. Only the current attempt can commit. */
  finish(record: ExecutionRecord, outcome: Outcome): Promise<void> {
    switch (outcome.type) {
      case "completed":
        return this.#complete(record, outcome.result, outcome.forward);
      case "failed":
        return this.#fail(record, outcome.error);
      case "suspended":
        return this.#suspend(record, outcome.on, outcome.mode);
      default:
        throw new Error(`unknown outcome ${JSON.stringify(outcome satisfies never)}`);
    }
  }

  async #complete(record: ExecutionRecord, result: string, forward?: string): Promise<void> {
    const payload = this.#inline(result) ?? (await this.#offload(`${record.id}/result`, result));
    await this.#terminate(record, { state: State.Running, attempt: record.attempt }, State.Completed, { result: payload, forward });
  }

  async #fail(record: ExecutionRecord, error: unknown): Promise<void> {
    const encoded = await this.#payload(`${record.id}/error/${record.attempt}`, this.#o.policy.encodeError(error));
    const delayMs = this.#o.policy.retryDelayMs(record.taskName, error, record.attempt);
    if (delayMs === undefined) {
      await this.#terminate(record, { state: State.Running, attempt: record.attempt }, State.Failed, { error: encoded });
      return;
    }
    const now = this.#o.clock.now();
    const attempt = record.attempt + 1;
    const retried = await this.#o.store.update(
      record.id,
      { state: State.Running, attempt: record.attempt },
      { state: State.Queued, attempt, error: encoded, notBefore: now + delayMs, queuedAt: now },
      { state: State.Queued, at: now, attempt },
    );
    if (retried !== undefined) await this.#send(retried, delayMs);
  }

  /** Marks a live execution terminal and releases its dependents. */
  async #terminate(
    record: ExecutionRecord,
    expect: Expectation,
    state: ExecutionState,
    changes: Partial<ExecutionRecord>,
  ): Promise<boolean> {
    const now = this.#o.clock.now();
    const done = await this.#o.store.update(
      record.id,
      expect,
      { ...changes, state, finishedAt: now },
      { state, at: now, attempt: record.attempt },
    );
    if (done === undefined) return false;
    this.#o.onTerminal?.(done);
    await this.releaseDependents(done.id);
    return true;
  }

  /** Parks a running execution until `on` (all, or any one of them) have finished. */
  async #suspend(record: ExecutionRecord, on: readonly string[], mode: WaitMode): Promise<void> {
    const now = this.#o.clock.now();
    const suspended = await this.#o.store.update(
      record.id,
      { state: State.Running, attempt: record.attempt },
      {
        state: State.Suspended,
        generation: record.generation + 1,
        pending: mode === WaitMode.All ? on.length : 1,
        guarded: true,
        waitMode: mode,
      },
      { state: State.Suspended, at: now, attempt: record.attempt },
    );
    if (suspended === undefined) return;
    await this.#o.store.addEdges(on.map((id) => this.#edge(suspended, id, EdgeKind.Await)));
    await this.#arm(suspended, on, EdgeKind.Await);
  }

  /**
   * Releases every unreleased edge out of a finished execution and queues each downstream
   * that this brings to zero. Idempotent: the fast path after a completion and the
   * coordinator's backstop may both run it.
   */
  async releaseDependents(upstreamId: string): Promise<void> {
    const edges = await this.#o.store.edgesFrom(upstreamId);
    const open = edges.filter((edge) => edge.waits && !edge.released);
    if (open.length === 1 && open[0] !== undefined) await this.#releaseEdge(open[0]);
    else if (open.length > 1) await Promise.all(open.map((edge) => this.#releaseEdge(edge)));
  }

  async #releaseEdge(edge: Edge): Promise<void> {
    const release = await this.#o.store.release(edge);
    if (release?.decremented) await this.#queueIfReady(release.downstream);
  }

  /**
   * Cancels an execution and, recursively, every unfinished execution under it. A running
   * attempt can no longer commit; its dependents are released and see the cancellation.
   * Returns the ids that were cancelled.
   */
  async cancel(id: string, reason: unknown): Promise<string[]> {
    const cancelled: string[] = [];
    const visit = async (executionId: string): Promise<void> => {
      const record = await this.#o.store.get(executionId);
      if (record === undefined) return;
      if (!isTerminal(record.state)) {
        const error = await this.#payload(`${record.id}/error/cancel`, this.#o.policy.encodeError(reason));
        const done = await this.#terminate(record, { state: live }, State.Cancelled, { error });
        if (done) cancelled.push(executionId);
      }
      const children = await this.#o.store.children(executionId);
      await Promise.all(children.map((child) => visit(child.id)));
    };
    await visit(id);
    return cancelled;
  }

  /** Fails an execution that can never run (its task is unknown, its message poisoned). */
  async abandon(id: string, error: unknown): Promise<void> {
    const record = await this.#o.store.get(id);
    if (record === undefined || isTerminal(record.state)) return;
    const encoded = await this.#payload(`${record.id}/error/abandon`, this.#o.policy.encodeError(error));
    await this.#terminate(record, { state: live }, State.Failed, { error: encoded });
  }

  /** One run: its root and every execution and edge under it. */
  async run(runId: string): Promise<RunView | undefined> {
    const found = await this.#o.store.run(runId);
    const root = found?.executions.find((e) => e.id === runId);
    if (found === undefined || root === undefined) return undefined;
    return { id: runId, root, executions: found.executions, edges: found.edges };
  }

  /** Reads a payload's text, from the record or the blob store. */
  async read(payload: Payload): Promise<string> {
    return "inline" in payload ? payload.inline : this.#o.blobs.get(payload.blob);
  }

  async #payload(key: string, text: string): Promise<Payload> {
    return this.#inline(text) ?? this.#offload(key, text);
  }

  /** The payload kept in the record, or `undefined` when `text` is too large for it. */
  #inline(text: string): Payload | undefined {
    return text.length <= this.#o.blobThreshold ? { inline: text } : undefined;
  }

  async #offload(key: string, text: string): Promise<Payload> {
    await this.#o.blobs.put(key, text);
    return { blob: key, bytes: text.length };
  }
}
