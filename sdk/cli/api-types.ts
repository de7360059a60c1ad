/**
 * The JSON the HTTP API (`sdk/http/routes.ts`) answers with, as the `floe` command and the
 * dashboard read it.
 */
import type { Edge, ExecutionState, Transition } from "../engine/model.ts";

/** `GET /executions/{id}`, and each execution of `GET /runs/{id}`. */
export interface ExecutionJson {
  readonly id: string;
  readonly runId: string;
  readonly parentId?: string;
  readonly task: string;
  readonly state: ExecutionState;
  readonly attempt: number;
  readonly createdAt: number;
  readonly queuedAt?: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly history: readonly Transition[];
  /** The execution whose result this one returned. */
  readonly forward?: string;
  readonly args?: unknown;
  readonly result?: unknown;
  readonly error?: ErrorJson;
  /** The latest failed attempts, oldest first (at most five: see `earlierFailures`). */
  readonly failures?: readonly FailedAttemptJson[];
  /** How many failed attempts came before those in `failures` (not kept). */
  readonly earlierFailures?: number;
}

/** A failed execution's error. */
export interface ErrorJson {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** One failed attempt of an execution: when it ran and its error. */
export interface FailedAttemptJson {
  readonly attempt: number;
  readonly startedAt?: number;
  readonly finishedAt: number;
  /** `truncated` when the message was cut to the length kept (a cut stack says so in its last line). */
  readonly error: ErrorJson & { readonly truncated?: boolean };
}

/** `GET /runs/{id}`: every execution of a run and the dependency edges between them. */
export interface RunJson {
  readonly id: string;
  readonly executions: readonly ExecutionJson[];
  readonly edges: readonly Edge[];
}

/** One run of `GET /runs`: its root execution, without arguments or result. */
export type RunSummaryJson = Omit<ExecutionJson, "history" | "args" | "result" | "error" | "forward" | "failures" | "earlierFailures">;

/** `GET /runs`. */
export interface RunListJson {
  readonly runs: readonly RunSummaryJson[];
  /** Given with a full page: pass it as `cursor` for the next one. */
  readonly cursor?: string;
}

/** An error answer of the API. */
export interface ApiErrorJson {
  readonly error: { readonly code: string; readonly message: string; readonly fields?: Record<string, string> };
}
