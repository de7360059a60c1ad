/**
 * The ports of task logs: where the lines a task writes go ({@link LogSink}) and where the
 * API reads an execution's lines back ({@link LogReader}). The embedded engine keeps them
 * in memory (`MemoryExecutionLogs`); on AWS a worker writes JSON lines to stdout
 * (`StdoutLogSink`, Lambda sends them to CloudWatch Logs) and the API reads them with
 * `FilterLogEvents` (`CloudWatchLogReader`).
 */
import type { ExecutionRecord } from "../engine/model.ts";
import type { TaggedLine } from "./log-line.ts";

/** Takes the lines tasks write. Never throws, never blocks the task. */
export interface LogSink {
  write(line: TaggedLine): void;
}

/** What {@link LogReader.read} is asked. */
export interface LogQuery {
  /** The execution, as stored: its id, task, run and times bound the search. */
  readonly record: ExecutionRecord;
  /** Only this attempt's lines. */
  readonly attempt?: number;
  /** The execution's ancestors that ran it inline, nearest first (their workers wrote its lines). */
  readonly inlineHosts?: readonly string[];
}

/** An execution's lines, oldest first. */
export interface LogPage {
  readonly lines: readonly TaggedLine[];
  /** Lines dropped to keep within a bound (see `MemoryExecutionLogs`). */
  readonly dropped?: number;
  /** More lines matched than one read returns. */
  readonly truncated?: boolean;
}

/** Reads an execution's lines back. */
export interface LogReader {
  read(query: LogQuery): Promise<LogPage>;
}
