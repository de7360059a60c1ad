/**
 * `floe rerun <id>`: re-runs a failed or cancelled run on an API. `floe cancel`: cancels
 * one execution, or every run of a workflow in a state (`--workflow <name> --state <state>`),
 * or lists them with `--dry-run`.
 */
import type { ApiAuth } from "../api-auth.ts";
import { httpApi } from "../api-client.ts";
import { CliError, ExitCode } from "../cli-error.ts";

/** Options of `floe rerun`. */
export interface RerunOptions extends ApiAuth {
  readonly api: string;
}

/** Re-runs the run of execution `id`; prints the root's id and its new attempt. */
export async function rerunCommand(id: string, options: RerunOptions): Promise<ExitCode> {
  const started = await httpApi(options.api, options).rerun(id);
  process.stdout.write(`${started.id} re-run (attempt ${started.attempt})\n`);
  return ExitCode.Ok;
}

/** Options of `floe cancel`. */
export interface CancelOptions extends ApiAuth {
  readonly api: string;
  readonly workflow?: string;
  readonly state?: string;
  readonly dryRun?: boolean;
}

/**
 * Cancels execution `id`, or every run of `--workflow` whose root is in `--state`, asking the
 * API again while it says more remain; prints each id, then how many.
 * @throws CliError `BadInput` for an id together with --workflow, or --workflow without --state
 */
export async function cancelCommand(id: string | undefined, options: CancelOptions): Promise<ExitCode> {
  const api = httpApi(options.api, options);
  if (id !== undefined) {
    if (options.workflow !== undefined || options.state !== undefined || options.dryRun === true) {
      throw new CliError(ExitCode.BadInput, "pass an execution id, or --workflow <name> --state <state>, not both: floe cancel --workflow nightly --state queued");
    }
    const done = await api.cancel(id);
    process.stdout.write(`${done.id} ${done.state}\n`);
    return ExitCode.Ok;
  }
  if (options.workflow === undefined || options.state === undefined) {
    throw new CliError(ExitCode.BadInput, "pass an execution id, or --workflow <name> with --state <state>: floe cancel --workflow nightly --state queued");
  }
  let total = 0;
  for (;;) {
    const page = await api.cancelRuns(options.workflow, { state: options.state, ...(options.dryRun === true ? { dryRun: true } : {}) });
    for (const runId of page.ids) process.stdout.write(`${runId}\n`);
    total += page.ids.length;
    // A dry run lists the first page only: nothing it lists goes away, so the next would repeat it.
    if (!page.more || options.dryRun === true) break;
  }
  process.stdout.write(options.dryRun === true ? `${total} ${options.state} runs of ${options.workflow} would be cancelled\n` : `${total} runs cancelled\n`);
  return ExitCode.Ok;
}
