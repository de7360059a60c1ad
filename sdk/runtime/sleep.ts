/** `sleep(ms | Date)`: durable time inside a task. */
import { ErrorCode, FloeError } from "../errors.ts";
import { currentContext } from "./context.ts";
import type { Runtime } from "./runtime.ts";
import { MAX_DELAY_MS } from "./start-delay.ts";

/** The shortest sleep: anything shorter is better awaited in process. */
export const MIN_SLEEP_MS = 1_000;

/**
 * Sleeps durably inside a task: the attempt ends, the execution is `sleeping` until its
 * wake time (its `notBefore`; `wakeAt` in the API's views), holding no slot and no compute,
 * and runs again from the start at that time, as after a suspension. Each `sleep` call's wake time is fixed by the first
 * run that reaches it, so on the re-run a passed sleep returns at once: the code before it
 * runs again (its submissions find the children made before, by their derived ids), and
 * side effects of its own are repeated, as after any suspension.
 *
 * @param duration - milliseconds (1 second to 30 days), or the time to wake at (in the next 30 days)
 * @throws FloeError `FLOE_INVALID_OPTION` outside a task, or for a duration or date out of range
 * @example
 * await sleep(90 * 60_000);
 * await sleep(new Date("2027-01-04T09:00:00Z"));
 */
export function sleep(duration: number | Date): Promise<void> {
  const context = currentContext();
  if (context === undefined) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      "sleep() works only inside a task or workflow; to start something later from outside one, use task.with({ delayMs }).submit(...)",
    );
  }
  return (context.runtime as Runtime).sleep(context, duration);
}

/**
 * The wake time of a sleep first reached at `now`.
 * @throws FloeError `FLOE_INVALID_OPTION` naming the value and the fix
 */
export function wakeTime(duration: unknown, now: number): number {
  if (duration instanceof Date) {
    const at = duration.getTime();
    if (Number.isNaN(at)) throw new FloeError(ErrorCode.InvalidOption, "sleep(Invalid Date): pass a valid Date, or a number of milliseconds");
    if (at <= now || at - now > MAX_DELAY_MS) {
      throw new FloeError(
        ErrorCode.InvalidOption,
        `sleep(${duration.toISOString()}): the time must be in the next 30 days (now is ${new Date(now).toISOString()}); ` +
          "pass a later date, or skip the sleep when the time has passed",
      );
    }
    return at;
  }
  if (typeof duration !== "number" || !Number.isInteger(duration) || duration < MIN_SLEEP_MS || duration > MAX_DELAY_MS) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `sleep(${String(duration)}): sleep takes a whole number of milliseconds from ${MIN_SLEEP_MS} (1 second) to ${MAX_DELAY_MS} (30 days), or a Date`,
    );
  }
  return now + duration;
}
