/**
 * The events of a finished execution, forwarded results included. A root that returns
 * another execution completes at once, with `forward` naming it, but its run's result is
 * final only when the end of that forward chain is: the run event waits for it.
 *
 * Exactly one side announces such a run, decided by one conditional write. The side that
 * sees the root (or a member of its chain) finish follows the chain: if its end is
 * terminal, it announces; if it meets a member still running, it marks that member with
 * `announces: <root id>`, on condition that it is not terminal, and announces nothing. The
 * member's own terminal transition then carries the mark, and its side carries on from it.
 * A mark that fails found the member terminal already, without the mark: that side reads it
 * again and goes on. No clock is compared, and nothing is read for a run that forwards
 * nothing. A record holds one mark: should two runs' chains meet at one execution still
 * running (a run returning an execution it was passed from another), the later mark wins
 * and the earlier run goes unannounced.
 */
import { isTerminal, State, type ExecutionRecord, type ExecutionState } from "../engine/model.ts";
import type { ExecutionStore } from "../engine/ports.ts";
import { call, type Step } from "../engine/step.ts";
import { forwardCycle } from "../errors.ts";
import { runEventOf, type FinishedImage, type RunEvent } from "./run-event.ts";

/**
 * What following a forward chain reads and writes: one record at a time (`GetItem`, which
 * the coordinator's role holds; it holds no `BatchGetItem`) and the mark (`UpdateItem`).
 */
export type ChainStore = Pick<ExecutionStore, "get" | "update">;

/** The states a mark is written in: any but the terminal ones (whatever states the model adds). */
const unfinished: readonly ExecutionState[] = Object.values(State).filter((s) => !isTerminal(s));

/**
 * The events to publish now that `image`'s execution has entered a terminal state: its own
 * (see {@link runEventOf}), but none for a root that forwarded, whose run is announced
 * when its chain ends, and none for the failure of a marked member, which is its run's.
 *
 * @param store - where the chain's records are read and a mark written
 * @param image - the execution's record just after the transition
 * @param linksOut - how many links lead out of it
 * @throws when a member of the chain cannot be read (the caller retries)
 */
export function* finishedRunEvents(store: ChainStore, image: FinishedImage, linksOut: number): Step<RunEvent[]> {
  const events: RunEvent[] = [];
  const own = (): void => {
    const event = runEventOf(image, linksOut);
    if (event !== undefined) events.push(event);
  };
  if (image.id === image.runId) {
    if (image.state === State.Completed && image.forward !== undefined) {
      const event = yield* chainEnd(store, image, image);
      if (event !== undefined) events.push(event);
    } else own();
  } else if (image.announces === undefined) own();
  if (image.announces !== undefined && image.announces !== image.id) {
    const announced = yield* call(store.get(image.announces));
    if (announced === undefined) throw new Error(`the run ${image.announces} that ${image.id} announces is not found`);
    const event = yield* chainEnd(store, announced, image);
    if (event !== undefined) events.push(event);
  }
  return events;
}

/**
 * Follows `root`'s chain from `from`, a terminal member: the run's event when its end is
 * terminal, else `undefined` once a member still running is marked.
 */
function* chainEnd(store: ChainStore, root: FinishedImage, from: FinishedImage): Step<RunEvent | undefined> {
  let current = from;
  let finalAt = Math.max(root.finishedAt ?? root.createdAt, from.finishedAt ?? from.createdAt);
  const followed = [root.id, ...(from.id === root.id ? [] : [from.id])];
  while (current.state === State.Completed && current.forward !== undefined) {
    const id = current.forward;
    if (followed.includes(id)) return forwardedEvent(root, { ...current, state: State.Failed, failures: [{ error: cycleError([...followed, id]) }] }, finalAt);
    followed.push(id);
    let next = yield* read(store, id);
    if (!isTerminal(next.state)) {
      const marked = yield* call(store.update(id, { state: unfinished }, { announces: root.id } as Partial<ExecutionRecord>));
      if (marked !== undefined) return undefined;
      next = yield* read(store, id);
      if (!isTerminal(next.state)) throw new Error(`execution ${id} could not be marked to announce run ${root.id}, yet it is ${next.state}`);
    }
    finalAt = Math.max(finalAt, next.finishedAt ?? next.createdAt);
    current = next;
  }
  return forwardedEvent(root, current, finalAt);
}

function* read(store: ChainStore, id: string): Step<ExecutionRecord> {
  const record = yield* call(store.get(id));
  if (record === undefined) throw new Error(`execution ${id}, forwarded to, is not found`);
  return record;
}

function cycleError(ids: readonly string[]): { name: string; message: string; code: string } {
  const error = forwardCycle(ids);
  return { name: error.name, message: error.message, code: error.code };
}

/** `root`'s run event, with the state and error of `end`, final at `finalAt`. */
function forwardedEvent(root: FinishedImage, end: FinishedImage, finalAt: number): RunEvent | undefined {
  const own = runEventOf({ ...root, state: end.state, finishedAt: finalAt, failures: end.failures ?? [] }, 0);
  if (own === undefined || end.id === root.id) return own;
  return { ...own, detail: { ...own.detail, eventId: `${root.id}:${end.state}`, forwardedTo: end.id } };
}
