/** `floe complete <id>`: completes an external execution on an API, with a result or an error. */
import type { ApiAuth } from "../api-auth.ts";
import { httpApi } from "../api-client.ts";
import { CliError, ExitCode } from "../cli-error.ts";

/** Options of `floe complete`. */
export interface CompleteOptions extends ApiAuth {
  readonly api: string;
  /** The result, as JSON text. */
  readonly result?: string;
  /** Fail it with this message instead. */
  readonly error?: string;
  readonly code?: string;
}

/**
 * Completes the external execution `id`; prints its id and state.
 * @throws CliError `BadInput` for a missing, doubled or malformed --result or --error, or what the API refuses
 */
export async function completeCommand(id: string, options: CompleteOptions): Promise<ExitCode> {
  const body = completionBody(options);
  const done = await httpApi(options.api, options).complete(id, body);
  process.stdout.write(`${done.id} ${done.state}\n`);
  return ExitCode.Ok;
}

/** The request body the options describe. */
export function completionBody(options: Pick<CompleteOptions, "result" | "error" | "code">): { result: unknown } | { error: { message: string; code?: string } } {
  if ((options.result === undefined) === (options.error === undefined)) {
    throw new CliError(ExitCode.BadInput, "pass --result <json> or --error <message>, one of them: floe complete <id> --result '{\"approved\":true}'");
  }
  if (options.error !== undefined) return { error: { message: options.error, ...(options.code === undefined ? {} : { code: options.code }) } };
  if (options.code !== undefined) throw new CliError(ExitCode.BadInput, "--code goes with --error: --error <message> --code <code>");
  try {
    return { result: JSON.parse(options.result ?? "") as unknown };
  } catch (error) {
    throw new CliError(ExitCode.BadInput, `--result must be JSON (${(error as Error).message}); quote a string as JSON: --result '"yes"'`);
  }
}
