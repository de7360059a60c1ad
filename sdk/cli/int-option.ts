/** A parser of whole-number options for commander. */
import { CliError, ExitCode } from "./cli-error.ts";

/**
 * Parses a whole number from 0 to `max`.
 * @throws CliError `BadInput` naming the option and the value received
 */
export function intOption(name: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new CliError(ExitCode.BadInput, `${name} must be a whole number from 0 to ${max}, got "${value}"`);
    }
    return n;
  };
}

/**
 * Parses a whole number from 1 to `max`: a count of something that must exist.
 * @throws CliError `BadInput` naming the option and the value received
 */
export function countOption(name: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new CliError(ExitCode.BadInput, `${name} must be a whole number from 1 to ${max}, got "${value}"`);
    }
    return n;
  };
}
