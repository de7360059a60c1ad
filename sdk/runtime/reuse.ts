/**
 * Calls that reuse an execution instead of running their own: `memo` (one execution per
 * identical call within a run), `cache` (a completed result reused within a TTL) and
 * `debounce` (calls with one key within a window become the window's last call). The reuse
 * records live apart from executions (`ExecutionStore.putReuseRecord`).
 */
import type { TaskDefinition } from "../define/registry.ts";
import { callKey, type DebounceSpec } from "../define/reuse-options.ts";
import type { ExecutionEngine, NewExecution } from "../engine/execution-engine.ts";
import { State, type ExecutionRecord } from "../engine/model.ts";
import type { Clock, ExecutionStore, IdSource, ReuseRecord } from "../engine/ports.ts";
import { isPromiseLike, type MaybePromise } from "../engine/step.ts";
import { ErrorCode, FloeError } from "../errors.ts";

/** What {@link Reuse} works with. */
export interface ReuseOptions {
  readonly store: ExecutionStore;
  readonly engine: ExecutionEngine;
  readonly ids: IdSource;
  readonly clock: Clock;
  /** The encoded reference to an execution: what a superseded call's record forwards with. */
  readonly encodeReference: (id: string) => string;
}

/** How often a debounced call retries the swap of its window's record when others keep winning it. */
const SWAP_TRIES = 8;

/** The reuse of executions by `memo`, `cache` and `debounce` (see the file comment). */
export class Reuse {
  readonly #o: ReuseOptions;

  constructor(options: ReuseOptions) {
    this.#o = options;
  }

  /**
   * The id of a `memo` call inside run `runId`: derived from the run, the task and the
   * encoded arguments (not from the caller, nor the call's occurrence), so every identical
   * call in the run names one execution, whose conditional create makes it once.
   */
  memoId(runId: string, definition: TaskDefinition, text: string): string {
    const derived = this.#o.ids.derive([runId, "floe:memo", definition.name, text]);
    return this.#o.ids.child === undefined ? derived : this.#o.ids.child(runId, derived);
  }

  /** The cache entry a call of a cached task reads and its completion writes, or `undefined` for a task that is not cached. */
  cacheOf(definition: TaskDefinition, args: readonly unknown[], text: string): { readonly key: string; readonly ttlMs: number } | undefined {
    const cache = definition.options.cache;
    if (cache === undefined) return undefined;
    const named = cache.key === undefined ? `args:${text}` : `key:${callKey(definition.name, "cache.key", cache.key, args)}`;
    return { key: this.#o.ids.derive(["floe:cache", definition.name, named]), ttlMs: cache.ttlMs };
  }

  /**
   * Registers a cached task's execution: completed at once with the entry's result when the
   * cache holds one within its TTL (`cachedFrom` names its source), registered to run otherwise.
   */
  registerCached(spec: NewExecution & { readonly cache: { readonly key: string } }): MaybePromise<ExecutionRecord> {
    const found = this.#o.store.getReuseRecord(spec.cache.key, this.#o.clock.now());
    const decide = (entry: ReuseRecord | undefined): MaybePromise<ExecutionRecord> =>
      entry?.result === undefined ? this.#o.engine.register(spec) : this.#o.engine.registerCached(spec, { executionId: entry.executionId, result: entry.result });
    return isPromiseLike(found) ? Promise.resolve(found).then(decide) : decide(found);
  }

  /** The digest naming a debounced call's window: its task and key. */
  windowKey(definition: TaskDefinition, debounce: DebounceSpec, args: readonly unknown[]): string {
    const key = debounce.key === undefined ? "" : callKey(definition.name, "debounce.key", debounce.key, args);
    return this.#o.ids.derive(["floe:debounce", definition.name, key]);
  }

  /**
   * Registers a debounced call's execution, due `periodMs` from now (never past its window's
   * opening plus `maxWaitMs`), and makes it its window's: the window's record is swapped to
   * it, conditionally on naming the execution it replaces, and that one, if still queued, is
   * superseded (completed forwarding to this one). The record expires at the holder's due
   * time, so a call after it opens a new window. Every step is idempotent or conditional:
   * a call that dies half-way leaves at worst an execution that runs alone.
   */
  async debounce(spec: NewExecution, windowKey: string, debounce: DebounceSpec): Promise<ExecutionRecord> {
    const { store, engine, clock } = this.#o;
    const now = clock.now();
    let open = await store.getReuseRecord(windowKey, now);
    if (open?.executionId === spec.id) {
      // A re-run of the caller whose earlier run made this call: it holds the window already.
      return (await store.get(spec.id)) ?? engine.register(spec);
    }
    const since = open?.since ?? now;
    const notBefore = Math.min(now + debounce.periodMs, debounce.maxWaitMs === undefined ? Infinity : since + debounce.maxWaitMs);
    const record = await engine.register({ ...spec, notBefore });
    // Found, not created (a re-run of the caller: made before this call began), or already
    // past queued: joins no window again. A record this call made was created after `now`,
    // by a clock that moved on during the read above (on a real clock, always).
    if (record.createdAt < now || record.state !== State.Queued) return record;
    const mine = (openedAt: number): ReuseRecord => ({ key: windowKey, executionId: spec.id, createdAt: now, expiresAt: notBefore, since: openedAt });
    for (let tries = 0; ; tries += 1) {
      const stored = await store.putReuseRecord(mine(since), open === undefined ? { absent: true } : { replacing: open.executionId });
      if (stored?.executionId === spec.id) break;
      if (tries === SWAP_TRIES) {
        throw new FloeError(ErrorCode.Conflict, `the debounce window of "${spec.taskName}" changed hands ${SWAP_TRIES} times during one call; call again`);
      }
      open = stored;
    }
    if (open === undefined) return record;
    const superseded = await engine.supersede(open.executionId, this.#o.encodeReference(spec.id), spec.id);
    // The window's holder had started already: this call opens a new window, from now.
    if (!superseded && since !== now) await store.putReuseRecord(mine(now), { replacing: spec.id });
    return record;
  }
}
