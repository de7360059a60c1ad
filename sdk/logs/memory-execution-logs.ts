/**
 * Task logs kept in memory, with the execution, on the embedded engine: the last
 * {@link MAX_LINES_PER_EXECUTION} lines of each execution (all attempts together), each
 * bounded as `log-line.ts` says; older lines are dropped and counted. They live as long as
 * the engine's records do, which is the engine's life.
 */
import type { LogPage, LogQuery, LogReader, LogSink } from "./execution-logs.ts";
import type { TaggedLine } from "./log-line.ts";

/** The most lines kept per execution; the oldest go first. */
export const MAX_LINES_PER_EXECUTION = 1_000;

interface Kept {
  lines: TaggedLine[];
  /** Where the oldest line is, once the ring is full. */
  start: number;
  dropped: number;
}

/** The embedded engine's {@link LogSink} and {@link LogReader}. */
export class MemoryExecutionLogs implements LogSink, LogReader {
  readonly #byExecution = new Map<string, Kept>();
  readonly #max: number;

  /** @param maxLinesPerExecution - the bound per execution (tests lower it) */
  constructor(maxLinesPerExecution = MAX_LINES_PER_EXECUTION) {
    this.#max = maxLinesPerExecution;
  }

  write(line: TaggedLine): void {
    const id = line.tags.executionId;
    let kept = this.#byExecution.get(id);
    if (kept === undefined) {
      kept = { lines: [], start: 0, dropped: 0 };
      this.#byExecution.set(id, kept);
    }
    if (kept.lines.length < this.#max) {
      kept.lines.push(line);
      return;
    }
    // A ring: dropping the oldest of a full execution costs no copy of the others.
    kept.lines[kept.start] = line;
    kept.start = (kept.start + 1) % this.#max;
    kept.dropped += 1;
  }

  read(query: LogQuery): Promise<LogPage> {
    const kept = this.#byExecution.get(query.record.id);
    if (kept === undefined) return Promise.resolve({ lines: [] });
    const ordered = [...kept.lines.slice(kept.start), ...kept.lines.slice(0, kept.start)];
    const lines = query.attempt === undefined ? ordered : ordered.filter((line) => line.tags.attempt === query.attempt);
    return Promise.resolve({ lines, ...(kept.dropped === 0 ? {} : { dropped: kept.dropped }) });
  }
}
