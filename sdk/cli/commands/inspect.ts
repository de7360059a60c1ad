/** `floe runs` and `floe inspect`: recent runs, and one run as a tree, from an API. */
import type { ApiAuth } from "../api-auth.ts";
import { isTerminal } from "../../engine/model.ts";
import { httpApi } from "../api-client.ts";
import { CliError, ExitCode } from "../cli-error.ts";
import { runsTable, timeline, tree } from "../render.ts";

/** Options of `floe runs`. */
export interface RunsOptions extends ApiAuth {
  readonly api: string;
  readonly workflow?: string;
  readonly state?: string;
  readonly limit?: number;
  readonly json?: boolean;
}

const states = ["waiting", "queued", "running", "suspended", "completed", "failed", "cancelled"];

/** Prints recent runs, newest first. */
export async function runsCommand(options: RunsOptions): Promise<ExitCode> {
  if (options.state !== undefined && !states.includes(options.state)) {
    throw new CliError(ExitCode.BadInput, `--state must be one of ${states.join(", ")}, got "${options.state}"`);
  }
  const api = httpApi(options.api, options);
  const { runs } = await api.runs({
    ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
  const shown = options.state === undefined ? runs : runs.filter((r) => r.state === options.state);
  process.stdout.write(options.json === true ? `${JSON.stringify({ runs: shown }, null, 2)}\n` : `${runsTable(shown)}\n`);
  return ExitCode.Ok;
}

/** Prints a run (given its id or the id of any execution in it) as a tree and a timeline. */
export async function inspectCommand(id: string, options: { api: string; json?: boolean; width?: number } & ApiAuth): Promise<ExitCode> {
  const api = httpApi(options.api, options);
  let run = await api.run(id);
  if (run === undefined) {
    const execution = await api.execution(id);
    if (execution !== undefined) run = await api.run(execution.runId);
  }
  if (run === undefined) {
    throw new CliError(ExitCode.BadInput, `no run or execution has the id "${id}" at ${options.api}; list recent runs with \`floe runs\``);
  }
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    return ExitCode.Ok;
  }
  const now = Date.now();
  const unfinished = run.executions.some((e) => !isTerminal(e.state));
  process.stdout.write(`${tree(run, id === run.id ? undefined : id, now)}\n\n${timeline(run, options.width ?? 60, unfinished ? now : undefined)}\n`);
  return ExitCode.Ok;
}
