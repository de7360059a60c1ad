/**
 * Failed attempts kept with an execution (DESIGN section 2: the record holds each failed
 * attempt's error). Each is written in the same conditional update as the transition that
 * ends its attempt (a retry, a final failure), so it costs no write of its own; and since
 * every later write to the record is billed per KB of the whole item, what is kept is
 * bounded: the latest {@link FAILURES_KEPT} attempts with a count of the earlier ones, each
 * error's message and stack cut to a few hundred characters. The whole error of the latest
 * attempt stays in the record's `error`, through the payload and blob path.
 */
import type { AttemptError, ExecutionRecord, FailedAttempt } from "./model.ts";

/** How many failed attempts a record keeps: the latest ones. */
export const FAILURES_KEPT = 5;

/** The longest message kept, in characters. */
export const MESSAGE_CHARS = 300;

/** The longest stack kept, in characters: its first frames, cut at a line's end, and {@link STACK_CUT}. */
export const STACK_CHARS = 600;

/** The last line of a stack that was cut. */
export const STACK_CUT = "\n    … (the rest of the stack was not kept)";

/** The longest name or code kept, in characters. */
const NAME_CHARS = 100;

/** An error's fields as a decoder of the stored error gives them. */
export interface ErrorFields {
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
  readonly stack?: string | undefined;
}

/**
 * `fields` cut to the lengths kept: a message cut ends with `…` and is marked `truncated`; a
 * stack keeps its first lines and ends with a line {@link STACK_CUT} that says the rest is gone.
 */
export function boundedError(fields: ErrorFields): AttemptError {
  const message = cut(fields.message, MESSAGE_CHARS);
  const stack = fields.stack === undefined ? undefined : cutLines(fields.stack, STACK_CHARS - STACK_CUT.length);
  const truncated = message.length < fields.message.length;
  return {
    name: cut(fields.name, NAME_CHARS),
    message,
    ...(fields.code === undefined ? {} : { code: cut(fields.code, NAME_CHARS) }),
    ...(stack === undefined ? {} : { stack }),
    ...(truncated ? { truncated: true } : {}),
  };
}

/**
 * The record's failures with `failure` appended, and the count of the earlier ones dropped
 * to keep {@link FAILURES_KEPT}: the fields to write with the transition that ends the
 * attempt. Only for a write whose expectation pins the attempt the record was read in, so
 * the list written replaces the one stored and loses nothing.
 */
export function withFailure(
  record: Pick<ExecutionRecord, "failures" | "earlierFailures">,
  failure: FailedAttempt,
): { failures: FailedAttempt[]; earlierFailures?: number } {
  const all = [...(record.failures ?? []), failure];
  const dropped = Math.max(0, all.length - FAILURES_KEPT);
  if (dropped === 0) return { failures: all };
  return { failures: all.slice(dropped), earlierFailures: (record.earlierFailures ?? 0) + dropped };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The leading lines of `text` that fit in `max` characters (at least part of the first), marked when cut. */
function cutLines(text: string, max: number): string {
  if (text.length <= max + STACK_CUT.length) return text;
  const end = text.lastIndexOf("\n", max);
  return `${end > 0 ? text.slice(0, end) : cut(text, max)}${STACK_CUT}`;
}
