/** Delayed starts: `task.with({ delayMs } | { startAt })`, checked and turned into a `notBefore`. */
import { ErrorCode, FloeError } from "../errors.ts";

/** The longest delay floe accepts for a start (and a sleep): 30 days. */
export const MAX_DELAY_MS = 30 * 86_400_000;

/** When a submitted execution may start: after a delay, or at a time. */
export type StartDelay = { readonly delayMs: number } | { readonly startAt: Date };

function invalid(message: string): FloeError {
  return new FloeError(ErrorCode.InvalidOption, message);
}

/**
 * Checks the shape of a start option, before anything is submitted.
 * @throws FloeError `FLOE_INVALID_OPTION` naming the value and the fix
 */
export function checkStartDelay(name: string, options: unknown): StartDelay {
  const o = (typeof options === "object" && options !== null ? options : {}) as Record<string, unknown>;
  const hasDelay = "delayMs" in o;
  const hasStart = "startAt" in o;
  if (hasDelay === hasStart) {
    throw invalid(`"${name}".with(${String(JSON.stringify(options))}): pass exactly one of { delayMs } or { startAt: Date }`);
  }
  if (hasDelay) {
    const ms = o.delayMs;
    if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > MAX_DELAY_MS) {
      throw invalid(`"${name}".with({ delayMs: ${String(ms)} }): delayMs must be a whole number of milliseconds from 0 to ${MAX_DELAY_MS} (30 days)`);
    }
    return { delayMs: ms };
  }
  const at = o.startAt;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw invalid(`"${name}".with({ startAt: ${String(at)} }): startAt must be a valid Date, e.g. new Date("2027-01-04T09:00:00Z")`);
  }
  return { startAt: at };
}

/**
 * The earliest start of a delayed submission made at `now`.
 * @throws FloeError `FLOE_INVALID_OPTION` for a time in the past or more than 30 days ahead
 */
export function notBeforeOf(name: string, delay: StartDelay, now: number): number {
  if ("delayMs" in delay) return now + delay.delayMs;
  const at = delay.startAt.getTime();
  if (at < now) {
    throw invalid(`"${name}" cannot start at ${delay.startAt.toISOString()}: that is in the past (now is ${new Date(now).toISOString()}); pass a future time, or submit without a delay`);
  }
  if (at - now > MAX_DELAY_MS) {
    throw invalid(`"${name}" cannot start at ${delay.startAt.toISOString()}: that is more than 30 days ahead; start something nearer that submits it later`);
  }
  return at;
}
