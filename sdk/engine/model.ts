/** The execution model shared by every backend: states, records, edges, messages. */

/**
 * The states of an execution. `completed`, `failed` and `cancelled` are terminal.
 * `sleeping` is a running attempt's code in `sleep`: the attempt ended, and its wake
 * message starts it again at `notBefore`.
 */
export const State = {
  Waiting: "waiting",
  Queued: "queued",
  Running: "running",
  Suspended: "suspended",
  Sleeping: "sleeping",
  Completed: "completed",
  Failed: "failed",
  Cancelled: "cancelled",
} as const;
export type ExecutionState = (typeof State)[keyof typeof State];

const terminal: ReadonlySet<string> = new Set([State.Completed, State.Failed, State.Cancelled]);

/** True for `completed`, `failed` and `cancelled`. */
export function isTerminal(state: ExecutionState): boolean {
  return terminal.has(state);
}

/**
 * An encoded value: inline text, or a pointer to the blob store when it is too large for
 * a record (DynamoDB's 400 KB item limit, SQS's 256 KB message limit).
 */
export type Payload = { readonly inline: string } | { readonly blob: string; readonly bytes: number };

/** One entry of an execution's history: the state it entered, when, in which attempt. */
export interface Transition {
  readonly state: ExecutionState;
  readonly at: number;
  readonly attempt: number;
  /**
   * Set on the summary entry of a compacted history (see `history.ts`): how many
   * transitions it stands for, from its `at` to the next entry's. Its state and attempt
   * are those of the first of them.
   */
  readonly folded?: number;
}

/**
 * A failed attempt's error as the record keeps it: plain fields, cut to bounded lengths
 * (`failures.ts`), so a record stays small however long the stack.
 */
export interface AttemptError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  /** Set when the message was cut to the length kept (a cut stack says so in its last line). */
  readonly truncated?: boolean;
}

/** One failed attempt of an execution: when it ran, when it ended and its error. */
export interface FailedAttempt {
  readonly attempt: number;
  /** When the attempt started (absent for one that failed before it ever started). */
  readonly startedAt?: number;
  readonly finishedAt: number;
  readonly error: AttemptError;
}

/** How a blocked execution is released: when all its counted edges are released, or any one. */
export const WaitMode = { All: "all", Any: "any" } as const;
export type WaitMode = (typeof WaitMode)[keyof typeof WaitMode];

/** The stored record of one execution. */
export interface ExecutionRecord {
  readonly id: string;
  /** The id of the run's root execution. */
  readonly runId: string;
  readonly parentId?: string;
  readonly taskName: string;
  readonly args: Payload;
  state: ExecutionState;
  /** 1-based; incremented by each retry. */
  attempt: number;
  /** Incremented each time the execution blocks (on submission or suspension). */
  generation: number;
  /** Upstreams still to be released in the current generation. */
  pending: number;
  /** The registration guard: set until the registering side has seen every upstream. */
  guarded: boolean;
  waitMode: WaitMode;
  result?: Payload;
  /** Set when the task returned another execution: its result is that execution's. */
  forward?: string;
  error?: Payload;
  /** The earliest start of the next attempt or run (a retry's, a delayed start's, a sleep's wake), epoch milliseconds. */
  notBefore?: number;
  /**
   * The wake times of the execution's `sleep` calls, in the order its code made them: fixed
   * by the first run that reaches each, so a re-run after waking passes it at once.
   */
  wakes?: number[];
  readonly createdAt: number;
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  history: Transition[];
  /**
   * The latest failed attempts, oldest first: each retry and the final failure add one,
   * in the write that records them (at most `FAILURES_KEPT`, see `failures.ts`).
   */
  failures?: FailedAttempt[];
  /** How many failed attempts before those in `failures` were dropped from it. */
  earlierFailures?: number;
  /**
   * Set on an external execution (`external()`): completed from outside, never queued or
   * run; failed with `FLOE_TIMEOUT` at `timeoutAt` (epoch milliseconds) if nothing completed it.
   */
  readonly external?: { readonly timeoutAt: number };
  /**
   * The re-run of its run this execution last started in (see `rerun.ts`): set on a run's
   * root by each re-run, and on every execution a re-run creates or starts again. Absent
   * before any re-run.
   */
  rerun?: number;
  /** The first attempt of the latest re-run that started the execution again: its retries count from there. */
  rerunFrom?: number;
  /**
   * The W3C `traceparent` of the span that submitted the execution, when traces are on: an
   * opaque string the engine only carries, so every attempt's span continues that trace.
   */
  readonly trace?: string;
  /**
   * Set on an execution of a cached task (`cache`): the digest its result is kept under, and
   * for how long after it completes (milliseconds). Its completion writes the cache entry.
   */
  readonly cache?: { readonly key: string; readonly ttlMs: number };
  /**
   * Set on an execution completed at its creation with a cached result: the execution that
   * computed it (what the timeline links to). It never ran.
   */
  readonly cachedFrom?: string;
  /**
   * Set on a debounced call's execution that a later call of its window superseded: it never
   * ran, and completed forwarding to the later call's execution (`forward`), whose result is its.
   */
  readonly debounced?: boolean;
  /**
   * The flow-control keys of an execution of a limited task, fixed at its submission from
   * its arguments (see `limits.ts`): absent for a task with no limit.
   */
  readonly limits?: LimitKeys;
  /**
   * Set while a queued execution waits for a limit with no message sent (a concurrency
   * limit), or with its message delayed past when it was due (a rate limit): what the
   * views say it waits for. Cleared once a concurrency slot admits it.
   */
  held?: Hold;
  /**
   * When a concurrency limit last admitted it from being held, epoch milliseconds: a release
   * that still finds its note long after knows its admitter died before sending its message.
   */
  admittedAt?: number;
  /** The execution whose release admitted it then (its own id when its own second look did). */
  admittedBy?: string;
}

/**
 * The limits an execution is counted under, fixed at its submission: each one's key (""
 * when the limit is task-wide) and numbers, as its task defined them then. Kept on the
 * record because the functions that release and resend executions (the coordinator, the
 * reconciler) are bundled without the tasks' definitions.
 */
export interface LimitKeys {
  readonly concurrency?: { readonly key: string; readonly limit: number };
  readonly rate?: { readonly key: string; readonly limit: number; readonly periodMs: number };
}

/** Which limit holds a queued execution back (see {@link ExecutionRecord.held}). */
export interface Hold {
  readonly by: "concurrency" | "rate";
  /** When it was held, epoch milliseconds. */
  readonly since: number;
  /** The limit, as its task defined it then. */
  readonly limit: number;
  /** A rate limit's period, milliseconds. */
  readonly periodMs?: number;
  /** When a rate limit lets it start, epoch milliseconds. */
  readonly until?: number;
  /** The attempt a rate limit's start was counted for: a resend of that attempt counts none again. */
  readonly attempt?: number;
}

/** Why one execution is linked to another. */
export const EdgeKind = {
  /** The downstream received the upstream as an argument. */
  Argument: "argument",
  /** The downstream suspended on the upstream's result. */
  Await: "await",
} as const;
export type EdgeKind = (typeof EdgeKind)[keyof typeof EdgeKind];

/** A dependency from an upstream execution to a downstream one. */
export interface Edge {
  readonly upstreamId: string;
  readonly downstreamId: string;
  readonly runId: string;
  readonly kind: EdgeKind;
  /** Whether the downstream's pending counter counts this edge. */
  readonly waits: boolean;
  /** The downstream generation the edge belongs to; a release from another one is ignored. */
  readonly generation: number;
  /**
   * How many of its edges the downstream waits for in this generation (1 when any one
   * releases it). A worker leaves a wide fan-in's edges to the coordinator, which groups
   * them into few writes.
   */
  readonly fanIn?: number;
  /**
   * The upstream's position among the downstream's edges of this generation: what a store
   * that records counted edges on the downstream records (see `ExecutionStore.release`).
   */
  readonly slot?: number;
  /** The downstream's attempt when the edge was made (a release may queue that attempt itself). */
  readonly attempt?: number;
  released: boolean;
  readonly createdAt: number;
}

/** The key of an edge; one edge per pair, kind and generation. */
export function edgeKey(edge: Pick<Edge, "upstreamId" | "downstreamId" | "kind" | "generation">): string {
  return `${edge.upstreamId}|${edge.downstreamId}|${edge.kind}|${edge.generation}`;
}

/** What a queue carries: ids, never payloads. */
export interface TaskMessage {
  readonly executionId: string;
  readonly taskName: string;
  readonly attempt: number;
}

/** A run: its root execution, every execution under it and every edge between them. */
export interface RunView {
  readonly id: string;
  readonly root: ExecutionRecord;
  readonly executions: readonly ExecutionRecord[];
  readonly edges: readonly Edge[];
}
