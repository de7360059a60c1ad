/**
 * The {@link LogSink} of a Lambda worker: one JSON line per log call on stdout, which
 * Lambda sends to the function's CloudWatch log group. Written to the stream, not through
 * `console`, whose methods Lambda's runtime wraps (in its JSON log format, a console call's
 * text becomes the `message` of a line of its own, and the fields would be lost in it).
 */
import type { LogSink } from "./execution-logs.ts";
import { jsonLine, type TaggedLine } from "./log-line.ts";

/** Writes each line as {@link jsonLine} to `write` (the process's stdout). */
export class StdoutLogSink implements LogSink {
  readonly #write: (text: string) => unknown;

  /** @param write - where the text goes @default process.stdout.write */
  constructor(write: (text: string) => unknown = (text) => process.stdout.write(text)) {
    this.#write = write;
  }

  write(line: TaggedLine): void {
    this.#write(`${jsonLine(line)}\n`);
  }
}
