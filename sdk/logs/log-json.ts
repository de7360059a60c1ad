/**
 * The JSON of task logs as `GET /executions/{id}/logs` answers it: types only (and the
 * levels), free of Node, for the dashboard as well as the server.
 */

/** A line's level, as `log` and `console` name them. */
export const LogLevel = { Debug: "debug", Info: "info", Warn: "warn", Error: "error" } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** A line as `GET /executions/{id}/logs` answers it. */
export interface LogLineJson {
  /** ISO 8601 time. */
  readonly at: string;
  readonly level: LogLevel;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly attempt: number;
}

/** What `GET /executions/{id}/logs` answers. */
export interface ExecutionLogsJson {
  readonly executionId: string;
  /** Oldest first. */
  readonly lines: readonly LogLineJson[];
  /** How many older lines the engine dropped to stay within its bound (embedded engine). */
  readonly dropped?: number;
  /** Set when more lines matched than the API reads in one request (AWS and the local cloud). */
  readonly truncated?: boolean;
}

