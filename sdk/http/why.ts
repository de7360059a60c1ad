/**
 * Why an unfinished execution is not done yet, said once from what a run holds (its records
 * and edges), so the API, `floe inspect` and the dashboard all say the same thing.
 */
import { isTerminal, State, type Edge, type ExecutionRecord, type ExecutionState } from "../engine/model.ts";

/** Why an execution is not finished: one of these, then a sentence. */
export type WhyReason = "waiting-upstreams" | "queued" | "retry-scheduled" | "delayed-start" | "suspended" | "sleeping" | "external" | "running" | "held";

/** An upstream an execution still waits for. */
export interface WhyUpstream {
  readonly id: string;
  readonly task: string;
  readonly state: ExecutionState | "unknown";
}

/** The `why` of an unfinished execution's view. */
export interface WhyJson {
  readonly reason: WhyReason;
  /** A short English sentence: "waiting on 2 of 3 upstreams: charge_card (running), reserve_stock (queued)". */
  readonly text: string;
  /** Since when it is in this state (queued, running), epoch milliseconds. */
  readonly since?: number;
  /** When it is due: a retry's, a delayed start's or a wake's time, an external's timeout. */
  readonly until?: number;
  /** The upstreams still unfinished that it waits for: the first {@link UPSTREAMS_LISTED} of them. */
  readonly upstreams?: readonly WhyUpstream[];
  /** How many more unfinished upstreams it waits for than `upstreams` lists. */
  readonly unlisted?: number;
}

/** How many upstreams a sentence names before counting the rest. */
export const UPSTREAMS_NAMED = 5;

/**
 * The most upstreams a `why` lists; it counts the rest (`unlisted`). A join of 10,000 listing
 * them all would weigh a megabyte, sent again by every live poll (`?since=`) in which one
 * of them changes.
 */
export const UPSTREAMS_LISTED = 20;

/** The part of a run {@link whyOf} reads. */
export interface WhyRun {
  readonly executions: readonly ExecutionRecord[];
  readonly edges: readonly Edge[];
}

/**
 * Why `record` is not finished, or undefined once it is.
 *
 * An upstream counts as still waited for while it is unfinished: the edge's `released` flag
 * is not kept by every store (DynamoDB's links never set it), the upstream's state is.
 *
 * @param record - the stored execution
 * @param run - its run's records and edges
 */
export function whyOf(record: ExecutionRecord, run: WhyRun): WhyJson | undefined {
  if (isTerminal(record.state)) return undefined;
  if (record.external !== undefined && record.state === State.Waiting) {
    const until = record.external.timeoutAt;
    return { reason: "external", text: `waiting for completion from outside until ${clock(until)}`, until };
  }
  switch (record.state) {
    case State.Running:
      return { reason: "running", text: `running attempt ${record.attempt} since ${clock(sinceOf(record))}`, since: sinceOf(record) };
    case State.Sleeping:
      return record.notBefore === undefined
        ? { reason: "sleeping", text: "sleeping" }
        : { reason: "sleeping", text: `sleeping until ${clock(record.notBefore)}`, until: record.notBefore };
    case State.Suspended:
    case State.Waiting:
      return blocked(record, run) ?? due(record);
    default:
      return due(record);
  }
}

/** A waiting or suspended execution's upstreams, when some are unfinished. */
function blocked(record: ExecutionRecord, run: WhyRun): WhyJson | undefined {
  const byId = new Map(run.executions.map((e) => [e.id, e]));
  const ids = [...new Set(run.edges.filter((e) => e.downstreamId === record.id && e.generation === record.generation).map((e) => e.upstreamId))];
  const open = ids
    .map((id): WhyUpstream => {
      const upstream = byId.get(id);
      return { id, task: upstream?.taskName ?? id, state: upstream?.state ?? "unknown" };
    })
    .filter((u) => u.state === "unknown" || !isTerminal(u.state));
  if (open.length === 0) return undefined;
  const named = open.slice(0, UPSTREAMS_NAMED).map((u) => `${u.task} (${u.state})`);
  const more = open.length > UPSTREAMS_NAMED ? `, ${open.length - UPSTREAMS_NAMED} more` : "";
  const list = `${named.join(", ")}${more}`;
  const listed = open.length > UPSTREAMS_LISTED ? { upstreams: open.slice(0, UPSTREAMS_LISTED), unlisted: open.length - UPSTREAMS_LISTED } : { upstreams: open };
  if (record.state === State.Suspended) return { reason: "suspended", text: `suspended, awaiting ${list}`, ...listed };
  const of = ids.length === 1 ? "its upstream" : `${open.length} of ${ids.length} upstreams`;
  return { reason: "waiting-upstreams", text: `waiting on ${of}: ${list}`, ...listed };
}

/** A queued (or released, not yet queued) execution: a retry's delay, a delayed start, or its queue. */
function due(record: ExecutionRecord): WhyJson {
  const held = heldBy(record);
  if (held !== undefined) return held;
  const since = sinceOf(record);
  if (record.notBefore !== undefined && record.notBefore > since) {
    const until = record.notBefore;
    const failure = record.failures?.find((f) => f.attempt === record.attempt - 1);
    if (failure !== undefined) {
      const text = `retry ${record.attempt} at ${clock(until)}, after attempt ${failure.attempt} failed: ${failure.error.message}`;
      return { reason: "retry-scheduled", text, until };
    }
    if (record.startedAt === undefined) return { reason: "delayed-start", text: `starts at ${clock(until)}`, until };
  }
  return { reason: "queued", text: `queued since ${clock(since)}`, since };
}

/**
 * A queued execution a limit of its task holds back: "held by the concurrency limit of
 * call_api (5 at once, key "acme") since …", or "… the rate limit of call_api (100 per 60 s)
 * until …". A rate hold says so only while its delayed start is still the one due.
 */
function heldBy(record: ExecutionRecord): WhyJson | undefined {
  const { held } = record;
  if (held === undefined || record.state !== State.Queued) return undefined;
  if (held.by === "concurrency") {
    const key = keyText(record.limits?.concurrency?.key);
    return { reason: "held", text: `held by the concurrency limit of ${record.taskName} (${held.limit} at once${key}) since ${clock(held.since)}`, since: held.since };
  }
  if (held.until === undefined || record.notBefore !== held.until) return undefined;
  const key = keyText(record.limits?.rate?.key);
  const per = `${held.limit} per ${seconds(held.periodMs ?? 0)}${key}`;
  return { reason: "held", text: `held by the rate limit of ${record.taskName} (${per}) until ${clock(held.until)}`, until: held.until };
}

function keyText(key: string | undefined): string {
  return key === undefined || key === "" ? "" : `, key ${JSON.stringify(key)}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** When the execution entered its current state: its last transition, else when it was queued or made. */
function sinceOf(record: ExecutionRecord): number {
  const last = record.history.reduce<number | undefined>((at, t) => (t.state === record.state && (at === undefined || t.at > at) ? t.at : at), undefined);
  return last ?? (record.state === State.Running ? record.startedAt : record.queuedAt) ?? record.createdAt;
}

/** `2026-12-02 09:14:03Z`: a time in UTC, to the second, with its date (a wait can span days). */
function clock(at: number): string {
  return new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/**
 * The sentence with how long it has been so, for a reader that knows the time:
 * "queued since 2026-12-02 09:14:03Z (12.00 s)".
 *
 * @param why - an execution's `why`
 * @param now - the reader's time, epoch milliseconds
 * @param format - how a duration is written
 */
export function whyText(why: Pick<WhyJson, "text" | "since">, now: number, format: (ms: number) => string): string {
  return why.since === undefined || now < why.since ? why.text : `${why.text} (${format(now - why.since)})`;
}
