/**
 * The engine scenarios name executions "u1", "d" and so on, all of run "run". On DynamoDB an
 * execution below a root has an id that starts with its run's family ("run~u1": see
 * `familyOf`), as the runtime's id source makes them: this wraps a store so the scenarios
 * keep their short names while the store sees ids of that form, both ways.
 */
import type { Edge, ExecutionRecord } from "../../sdk/engine/model.ts";
import type { ExecutionStore, IdempotencyRecord, Release, ReuseCondition, ReuseRecord } from "../../sdk/engine/ports.ts";
import { isPromiseLike, type MaybePromise } from "../../sdk/engine/step.ts";

const RUN = "run";
const outward = (id: string): string => (id.startsWith(`${RUN}~`) ? id.slice(RUN.length + 1) : id);

function record(r: ExecutionRecord, to: (id: string) => string): ExecutionRecord {
  return {
    ...r,
    id: to(r.id),
    ...(r.parentId === undefined ? {} : { parentId: to(r.parentId) }),
    ...(r.forward === undefined ? {} : { forward: to(r.forward) }),
  };
}
const edge = (e: Edge, to: (id: string) => string): Edge => ({ ...e, upstreamId: to(e.upstreamId), downstreamId: to(e.downstreamId) });
const out = (r: ExecutionRecord | undefined) => (r === undefined ? undefined : record(r, outward));
const then = <T, U>(value: MaybePromise<T>, f: (v: T) => U): MaybePromise<U> => (isPromiseLike(value) ? value.then(f) : f(value));

/** `store` as the scenarios see it (see the file comment). */
export function withScenarioIds(store: ExecutionStore): ExecutionStore {
  // A root (its own run) keeps its id.
  const roots = new Set([RUN]);
  const inward = (id: string): string => (roots.has(id) || id.includes("~") ? id : `${RUN}~${id}`);
  return {
    create: (r) => {
      if (r.id === r.runId) roots.add(r.id);
      return store.create(record(r, inward));
    },
    get: (id) => then(store.get(inward(id)), out),
    getMany: (ids, options) => then(store.getMany(ids.map(inward), options), (rs) => rs.map(out)),
    update: (id, expect, changes, transition) =>
      then(store.update(inward(id), expect, changes.forward === undefined ? changes : { ...changes, forward: inward(changes.forward) }, transition), out),
    addEdges: (edges) => store.addEdges(edges.map((e) => edge(e, inward))),
    release: (edges, options) =>
      then(store.release(edges.map((e) => edge(e, inward)), options), (r: Release | undefined) =>
        r === undefined ? undefined : { ...r, downstream: record(r.downstream, outward) },
      ),
    edgesFrom: (id) => then(store.edgesFrom(inward(id)), (es) => es.map((e) => edge(e, outward))),
    children: (parentId, runId) => then(store.children(inward(parentId), runId), (rs) => rs.map((r) => record(r, outward))),
    executions: (runId) => then(store.executions(runId), (rs) => rs.map((r) => record(r, outward))),
    run: (runId) =>
      then(store.run(runId), (found) =>
        found === undefined
          ? undefined
          : { executions: found.executions.map((r) => record(r, outward)), edges: found.edges.map((e) => edge(e, outward)) },
      ),
    runs: (query) => then(store.runs(query), (rs) => rs.map((r) => record(r, outward))),
    putIdempotencyRecord: (r: IdempotencyRecord) => store.putIdempotencyRecord(r),
    callbackKey: (candidate: string) => store.callbackKey(candidate),
    getReuseRecord: (key: string, now: number) =>
      then(store.getReuseRecord(key, now), (r: ReuseRecord | undefined) => (r === undefined ? undefined : { ...r, executionId: outward(r.executionId) })),
    putReuseRecord: (r: ReuseRecord, condition: ReuseCondition) =>
      then(
        store.putReuseRecord(
          { ...r, executionId: inward(r.executionId) },
          "replacing" in condition ? { replacing: inward(condition.replacing) } : condition,
        ),
        (found: ReuseRecord | undefined) => (found === undefined ? undefined : { ...found, executionId: outward(found.executionId) }),
      ),
    queued: (query) => then(store.queued(query), (rs) => rs.map((r) => record(r, outward))),
  };
}
