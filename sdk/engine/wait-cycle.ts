/**
 * Finding a wait cycle among blocked executions (RELIABILITY T25). A suspended execution
 * holds no timer, so executions that await each other would stay suspended forever: the
 * last of them to suspend looks for the cycle and fails instead. Pure, over the store port.
 */
import type { ExecutionStore } from "./ports.ts";
import { all, call, type Step } from "./step.ts";
import { State, WaitMode, type Edge, type ExecutionRecord } from "./model.ts";

/**
 * How many hops the walk takes out of the suspending execution: a cycle of up to this many
 * executions besides it is found. Each hop is one `edgesFrom` per execution reached and one
 * batch read of the ones it leads to.
 */
export const CYCLE_HOPS = 8;

/**
 * How many executions the walk follows per hop. A wide fan-out of waiters (many executions
 * awaiting one) is followed this far and no further.
 */
export const CYCLE_WIDTH = 16;

/**
 * The executions in a wait cycle through `start`, which has just suspended on `on` in
 * `mode` and written its await edges, in the order they wait (`start` first, awaiting the
 * next, the last awaiting `start`); `undefined` when none is found.
 *
 * It walks from `start` along the open edges out of it (the executions that await it, or
 * wait for it as an argument), then along theirs, up to {@link CYCLE_HOPS} hops. Reaching
 * an execution `start` awaits closes a cycle. Each execution writes its edges before it
 * walks, so of the executions of a cycle, the last to block sees every edge of it. Only
 * executions blocked in the edge's generation are followed, and only those that wait for
 * all their upstreams: one waiting for any (`asCompleted`) may be released by an upstream
 * outside the cycle, so the walk does not go through it, and `start` waiting for any is in
 * a cycle only when every execution it awaits is reached.
 *
 * Cost: one query when nothing awaits `start` (a run's root, a task no one awaits); two per
 * hop up a chain of executions awaiting each other (a parent awaiting its child awaiting
 * its own child...), so at most `2 × CYCLE_HOPS` however deep the chain.
 */
export function* findWaitCycle(
  store: ExecutionStore,
  start: ExecutionRecord,
  on: readonly string[],
  mode: WaitMode,
): Step<ExecutionRecord[] | undefined> {
  const targets = new Set(on);
  /** The executions reached, and the one before each on the walk. */
  const via = new Map<string, ExecutionRecord>([[start.id, start]]);
  const before = new Map<string, string>();
  // Awaiting itself needs no walk.
  const found = new Set(targets.has(start.id) ? [start.id] : []);
  const closed = (): boolean => (mode === WaitMode.All ? found.size > 0 : found.size === targets.size);
  if (closed()) return [start];
  let frontier: ExecutionRecord[] = [start];
  for (let hop = 0; hop < CYCLE_HOPS && frontier.length > 0; hop += 1) {
    const out = yield* all(frontier.map((record) => call(store.edgesFrom(record.id))));
    const open = new Map<string, { edge: Edge; from: string }>();
    frontier.forEach((record, i) => {
      for (const edge of out[i] ?? []) {
        if (!edge.waits || edge.released || via.has(edge.downstreamId) || open.has(edge.downstreamId)) continue;
        if (open.size < CYCLE_WIDTH) open.set(edge.downstreamId, { edge, from: record.id });
      }
    });
    if (open.size === 0) return undefined;
    const read = yield* call(store.getMany([...open.keys()]));
    frontier = [];
    for (const downstream of read) {
      const reached = downstream === undefined ? undefined : open.get(downstream.id);
      if (downstream === undefined || reached === undefined || !stuck(downstream, reached.edge)) continue;
      via.set(downstream.id, downstream);
      before.set(downstream.id, reached.from);
      frontier.push(downstream);
      if (targets.has(downstream.id)) found.add(downstream.id);
    }
    if (closed()) return path(start.id, [...found].find((id) => id !== start.id) ?? start.id, via, before);
  }
  return undefined;
}

/**
 * Whether `record`, reached over `edge`, stays blocked until that edge's upstream
 * finishes: it is blocked in the edge's generation and waits for all its upstreams.
 */
function stuck(record: ExecutionRecord, edge: Edge): boolean {
  const blocked = record.state === State.Suspended || record.state === State.Waiting;
  return blocked && record.generation === edge.generation && record.waitMode === WaitMode.All;
}

/** The cycle from `start` through `target`, in waiting order: `start` awaits `target`, which awaits... `start`. */
function path(startId: string, target: string, via: ReadonlyMap<string, ExecutionRecord>, before: ReadonlyMap<string, string>): ExecutionRecord[] {
  // The walk went from `start` to `target` along "is awaited by": reversed, it is "awaits".
  const cycle: ExecutionRecord[] = [];
  for (let id: string | undefined = target; id !== undefined && id !== startId; id = before.get(id)) {
    const record = via.get(id);
    if (record !== undefined) cycle.push(record);
  }
  const start = via.get(startId);
  return start === undefined ? cycle : [start, ...cycle];
}
