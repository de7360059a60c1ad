/**
 * What of a run changed after a time: the selection behind `GET /runs/{id}?since=`, made
 * from what the records already hold (their transition times), so no backend writes
 * anything more for it.
 */
import { isTerminal, type Edge, type ExecutionRecord } from "../engine/model.ts";

/**
 * How far before a cursor's time a `since` read looks again. A change is dated by the
 * clock of the process that wrote it when it began the write (a Lambda, on AWS), and is
 * seen by a reader once the write lands: a change dated before the previous read may
 * still have been missed by it. The gap is the writer's clock skew (Lambda's clocks follow
 * the Amazon Time Sync Service, well under a millisecond) plus how long the write took to
 * land after its time was taken (milliseconds, up to a second or two when the SDK retries a
 * throttled write). Five seconds covers both with room; the price is that a poll sends
 * again what changed in the last five seconds, which depends on how fast the run moves,
 * not on how large it is.
 */
export const SINCE_OVERLAP_MS = 5_000;

/** The part of a stored run a selection reads. */
export interface RunRecords {
  readonly id: string;
  readonly executions: readonly ExecutionRecord[];
  readonly edges: readonly Edge[];
}

/**
 * When `record` last changed in a way its view shows: every such change (a state, an
 * attempt, a result or error, a failure, a wake time) is written with a transition or a
 * time of its own. A compacted history keeps its latest entries, so its last one stays.
 */
export function changedAt(record: ExecutionRecord): number {
  let at = Math.max(record.createdAt, record.queuedAt ?? 0, record.startedAt ?? 0, record.finishedAt ?? 0);
  for (const transition of record.history) at = Math.max(at, transition.at);
  for (const failure of record.failures ?? []) at = Math.max(at, failure.finishedAt);
  return at;
}

/**
 * The executions and edges of `run` whose views may differ from those read before `after`:
 * those changed at or after it; the unfinished downstreams of a changed execution or of a
 * new edge (their `why` names the upstream's state); the root, and what it forwards to (a
 * run's result); and the edges new since, or out of a changed execution (an edge's
 * `released` flips when its upstream finishes).
 *
 * @param run - the whole stored run
 * @param after - the earliest change wanted, epoch milliseconds (a cursor's time less {@link SINCE_OVERLAP_MS})
 */
export function changesSince<R extends RunRecords>(run: R, after: number): { executions: ExecutionRecord[]; edges: Edge[] } {
  const byId = new Map(run.executions.map((e) => [e.id, e]));
  const changed = new Set(run.executions.filter((e) => changedAt(e) >= after).map((e) => e.id));
  const picked = new Set(changed);
  const edges = run.edges.filter((edge) => changed.has(edge.upstreamId) || edge.createdAt >= after);
  for (const edge of edges) {
    const downstream = byId.get(edge.downstreamId);
    if (downstream !== undefined && !isTerminal(downstream.state)) picked.add(downstream.id);
  }
  // The root, and the chain of executions it forwards to: what a run's result is read from.
  const chain = new Set<string>();
  for (let id: string | undefined = run.id; id !== undefined && !chain.has(id); id = byId.get(id)?.forward) {
    chain.add(id);
    if (byId.has(id)) picked.add(id);
  }
  return { executions: run.executions.filter((e) => picked.has(e.id)), edges };
}
