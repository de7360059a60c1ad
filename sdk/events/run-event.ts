/**
 * Completion events: what floe publishes to EventBridge when a run ends, or when an
 * execution nobody waits for fails, so users notify, alert and chain without polling.
 * Pure: built from a record's stream image, with no I/O (see `publisher.ts` for the send).
 */
import { isTerminal, State, type AttemptError, type ExecutionState } from "../engine/model.ts";

/** The `source` of every event floe publishes. */
export const RUN_EVENT_SOURCE = "floe";

/** The `detail-type` of floe's events: one per way a run ends, and one for a lone failed execution. */
export const RunEventType = {
  Completed: "Run Completed",
  Failed: "Run Failed",
  Cancelled: "Run Cancelled",
  /** An execution below a root failed and nothing waited on it (fire-and-forget). */
  ExecutionFailed: "Execution Failed",
} as const;
export type RunEventType = (typeof RunEventType)[keyof typeof RunEventType];

/**
 * The `detail` of a floe event: small (no results, no arguments), so it fits EventBridge's
 * 256 KB entry with room to spare. Delivery is at least once: a consumer that must act once
 * dedupes on {@link RunEventDetail.eventId}.
 *
 * @example A Lambda target's handler
 * ```ts
 * import type { EventBridgeEvent } from "aws-lambda";
 * import type { RunEventDetail } from "floe";
 * export const handler = async (event: EventBridgeEvent<"Run Failed", RunEventDetail>) => {
 *   await notify(`${event.detail.workflow} ${event.detail.runId} failed: ${event.detail.error?.message}`);
 * };
 * ```
 */
export interface RunEventDetail {
  /** Stable across redeliveries of the same transition: `<executionId>:<state>`. */
  readonly eventId: string;
  /** The run's workflow (its root's task); set on run events, absent on `Execution Failed`. */
  readonly workflow?: string;
  /** The task of the execution the event is about (the workflow itself for a run event). */
  readonly task: string;
  readonly runId: string;
  readonly executionId: string;
  readonly state: Extract<ExecutionState, "completed" | "failed" | "cancelled">;
  /** Epoch milliseconds: when it was submitted. */
  readonly createdAt: number;
  /** Epoch milliseconds: when its last attempt started (absent if it never started). */
  readonly startedAt?: number;
  /** Epoch milliseconds: when it reached its terminal state. */
  readonly finishedAt: number;
  /** `finishedAt - createdAt`: the time the caller waited, queueing included. */
  readonly durationMs: number;
  /**
   * On a run whose root returned another execution: the execution its result came from (the
   * end of the forward chain), whose state, error and end the event gives.
   */
  readonly forwardedTo?: string;
  /** The last attempt's error, on a failure. */
  readonly error?: { readonly name: string; readonly message: string; readonly code?: string };
}

/** An event ready to publish: its detail-type and detail. */
export interface RunEvent {
  readonly detailType: RunEventType;
  readonly detail: RunEventDetail;
}

/** The fields of a stored execution a run event is made from (a stream image, unmarshalled). */
export interface FinishedImage {
  readonly id: string;
  readonly runId: string;
  readonly taskName: string;
  readonly state: ExecutionState;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly failures?: readonly { readonly error: AttemptError }[];
  /** Set when the execution completed by returning another: the one its result is. */
  readonly forward?: string;
  /**
   * Set on an execution a forwarding run's result waits for: the id of that run, whose event
   * its end makes (see `forwarded-run.ts`). Written by the events' side alone.
   */
  readonly announces?: string;
}

const runTypes = {
  [State.Completed]: RunEventType.Completed,
  [State.Failed]: RunEventType.Failed,
  [State.Cancelled]: RunEventType.Cancelled,
} as const;

/**
 * The event for an execution that has just entered a terminal state, or none.
 *
 * A root's every terminal transition makes a run event. Below a root only a failure that
 * nobody waits for does: an execution is fire-and-forget when, at the moment it failed, no
 * link leads out of it (no argument edge into a downstream, no parent suspended on it).
 * Whoever waits on a failed execution sees the failure itself, so it is not announced
 * twice; a parent that awaits it only after it failed is told by its own await. A root that
 * forwarded its result is announced when its chain ends: see `finishedRunEvents`.
 *
 * @param image - the execution's record just after the transition
 * @param linksOut - how many links lead out of it (its waiters), from the same image
 */
export function runEventOf(image: FinishedImage, linksOut: number): RunEvent | undefined {
  if (!isTerminal(image.state)) return undefined;
  const root = image.id === image.runId;
  if (!root && (image.state !== State.Failed || linksOut > 0)) return undefined;
  const state = image.state as RunEventDetail["state"];
  const finishedAt = image.finishedAt ?? image.createdAt;
  const last = image.failures?.at(-1)?.error;
  const detail: RunEventDetail = {
    eventId: `${image.id}:${state}`,
    ...(root ? { workflow: image.taskName } : {}),
    task: image.taskName,
    runId: image.runId,
    executionId: image.id,
    state,
    createdAt: image.createdAt,
    ...(image.startedAt === undefined ? {} : { startedAt: image.startedAt }),
    finishedAt,
    durationMs: Math.max(0, finishedAt - image.createdAt),
    ...(state === State.Failed && last !== undefined
      ? { error: { name: last.name, message: last.message, ...(last.code === undefined ? {} : { code: last.code }) } }
      : {}),
  };
  return { detailType: root ? runTypes[state] : RunEventType.ExecutionFailed, detail };
}
