/**
 * Bounded histories. Every write to an execution appends a transition, and an awaited
 * chain's parent re-runs once per step: 303 entries (12 KB) at 100 steps, and DynamoDB
 * bills each write to an item per KB of it. Past {@link HISTORY_CAP} entries the engine
 * writes a compacted history instead of appending: the first entries, one summary entry
 * for the middle, and the latest ones.
 */
import { State, type Transition } from "./model.ts";

/**
 * The most entries a history holds before the engine compacts it. An entry is about 40
 * bytes as DynamoDB counts them, so 12 entries and a record's other fields (about 400
 * bytes) stay under the 1 KB that one write unit pays for; a compaction leaves room for
 * two appends, so a history is rewritten about every third write. The writes that do
 * not hold the record as stored (a claim, a take-over, a cancellation) append, so a
 * history may exceed the cap by the one or two of those between two compactions.
 */
export const HISTORY_CAP = 12;

/** The most entries kept at the start: the creation, the first queueing, the first start. */
const HEAD = 3;

/** Entries kept at the end: the current attempt's last two suspend, queue and run cycles. */
const TAIL = 6;

/** Whether a write to a record whose history is `history` compacts it rather than appending. */
export function isFull(history: readonly Transition[]): boolean {
  return history.length >= HISTORY_CAP;
}

/**
 * `history` with `transition` appended and the middle folded into one summary entry. The
 * summary has the state, time and attempt of the first entry it stands for and, in
 * `folded`, how many entries it stands for (a summary it absorbs counts for its own
 * `folded`), so the entries' `folded` (1 when absent) sum to every transition ever
 * written. Its span ends where the next entry starts, as any entry's does. A history too
 * short to fold anything comes back appended.
 */
export function compact(history: readonly Transition[], transition: Transition): Transition[] {
  const summary = history.findIndex((t) => t.folded !== undefined);
  const head = summary >= 0 ? summary : headLength(history);
  const rest = [...history.slice(head), transition];
  const fold = rest.length - TAIL;
  if (fold < 2) return [...history, transition];
  let folded = 0;
  for (let i = 0; i < fold; i += 1) folded += rest[i]?.folded ?? 1;
  const first = rest[0] as Transition;
  return [...history.slice(0, head), { state: first.state, at: first.at, attempt: first.attempt, folded }, ...rest.slice(fold)];
}

/** The leading entries up to the first start, at most {@link HEAD}. */
function headLength(history: readonly Transition[]): number {
  const started = history.findIndex((t) => t.state === State.Running);
  return started < 0 ? Math.min(1, history.length) : Math.min(started + 1, HEAD);
}
