/** The errors the `floe` command reports as one line, and the exit codes it uses. */
import { ErrorCode, FloeError } from "../errors.ts";

/** What the `floe` command's exit code means. */
export const ExitCode = {
  /** The command did what it was asked; for `floe run`, the run completed. */
  Ok: 0,
  /** The run failed or was cancelled. */
  RunFailed: 1,
  /** Bad input: usage, an unknown module, workflow, run or execution, arguments that do not parse. */
  BadInput: 2,
  /** The API could not be reached, or answered with something that is not the floe API. */
  Unreachable: 3,
  /** A bug: an error nobody anticipated (its stack is printed with `--verbose`). */
  Internal: 4,
  /** Stopped by Ctrl-C (SIGINT) before the run finished: 128 + the signal's number, as shells report it. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user can fix: printed as one line (what went wrong and the fix), no stack. */
export class CliError extends FloeError {
  /**
   * @param exitCode - the process's exit code
   * @param message - what went wrong, the value received and the fix
   * @param options - `cause`, printed with `--verbose`
   */
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.Cli, message, options);
  }
}
