/**
 * Folds a `GET /runs/{id}?since=` answer into the view read before it: what the dashboard's
 * live poll does. Pure, with no Node imports, so the dashboard's bundle can use it.
 */
import { edgeKey, type Edge } from "../engine/model.ts";

/** The part of a run view a merge reads: `RunJson`, or an engine's `RunView`. */
export interface MergeableRun {
  readonly id: string;
  readonly executions: readonly { readonly id: string }[];
  readonly edges: readonly Edge[];
  readonly cursor?: string;
  readonly partial?: boolean;
}

/**
 * The view a full read would give now, from the view read before and the changes since:
 * each execution of `partial` replaces the one with its id or is added (keeping the held
 * one's arguments when it comes without them: a partial view sends them once, with the
 * execution's creation), each edge replaces the one with its key or is added (nothing
 * leaves a run). Executions keep the order of
 * `previous`, new ones after. A whole view (no `partial`) replaces `previous`; a view of
 * another run is refused, since merging it would mix two runs.
 *
 * @param previous - the view held, whole or already merged
 * @param partial - the answer of the `since` read made with `previous.cursor`
 * @returns a whole view (no `partial`), with `partial`'s cursor
 * @throws Error when the two views are of different runs
 * @example
 * run = mergeRun(run, await get(`/runs/${run.id}?since=${run.cursor}`));
 */
export function mergeRun<R extends MergeableRun>(previous: R, partial: R): R {
  if (previous.id !== partial.id) throw new Error(`cannot merge a view of run ${partial.id} into one of run ${previous.id}`);
  if (partial.partial !== true) return partial;
  const executions = new Map(previous.executions.map((e) => [e.id, e]));
  for (const execution of partial.executions) executions.set(execution.id, withHeldArgs(execution, executions.get(execution.id)));
  const edges = new Map(previous.edges.map((e) => [edgeKey(e), e]));
  for (const edge of partial.edges) edges.set(edgeKey(edge), edge);
  const { partial: _partial, ...rest } = partial;
  // `R` is the caller's own shape (`RunJson`, `RunView`): only its lists and `partial` change.
  return { ...rest, executions: [...executions.values()], edges: [...edges.values()] } as unknown as R;
}


/** Arguments never change, so a partial view sends them only with an execution's creation. */
const ARGUMENT_FIELDS = ["args", "argsText"] as const;

/** `execution` with the arguments of `held` where it came without them. */
function withHeldArgs<E extends { readonly id: string }>(execution: E, held: E | undefined): E {
  if (held === undefined || "args" in execution) return execution;
  const kept: Record<string, unknown> = {};
  for (const field of ARGUMENT_FIELDS) if (field in held) kept[field] = (held as Record<string, unknown>)[field];
  return { ...execution, ...kept };
}
