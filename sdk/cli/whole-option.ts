/** A parser of whole-number options for commander. */
import { CliError, ExitCode } from "./cli-error.ts";

/**
 * Parses a whole number from `min` to `max`, both included.
 * @throws CliError `BadInput` naming the option, its range and the value received
 */
export function wholeOption(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new CliError(ExitCode.BadInput, `${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}
