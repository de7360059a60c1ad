/** `floe runs` and `floe inspect`: recent runs, and one run as a tree, from an API. */
import type { ApiAuth } from "../api-auth.ts";
import { isTerminal } from "../../engine/model.ts";
import { httpApi } from "../api-client.ts";
import { CliError, ExitCode } from "../cli-error.ts";
import { runsTable, timeline, tree } from "../render.ts";
import type { RunSummaryJson } from "../../http/views.ts";
import { readRunLogs, renderLogs } from "../run-logs.ts";

/** Options of `floe runs`. */
export interface RunsOptions extends ApiAuth {
  readonly api: string;
  readonly workflow?: string;
  readonly state?: string;
  readonly limit?: number;
  /** Start after the page this cursor ended (printed with the page before). */
  readonly cursor?: string;
  /** Read every page, not only the first. */
  readonly all?: boolean;
  readonly json?: boolean;
}

const states = ["waiting", "queued", "running", "suspended", "sleeping", "completed", "failed", "cancelled"];

/** Prints runs newest first, filtered and paged by the API. */
export async function runsCommand(options: RunsOptions): Promise<ExitCode> {
  if (options.state !== undefined && !states.includes(options.state)) {
    throw new CliError(ExitCode.BadInput, `--state must be one of ${states.join(", ")}, got "${options.state}"`);
  }
  if (options.all === true && options.cursor !== undefined) {
    throw new CliError(ExitCode.BadInput, "--all and --cursor exclude each other: --all reads every page from the first");
  }
  const api = httpApi(options.api, options);
  const query = { workflow: options.workflow, state: options.state, limit: options.limit };
  const runs: RunSummaryJson[] = [];
  let cursor = options.cursor;
  do {
    const page = await api.runs({ ...query, cursor });
    runs.push(...page.runs);
    cursor = page.cursor;
  } while (options.all === true && cursor !== undefined);
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ runs, ...(cursor === undefined ? {} : { cursor }) }, null, 2)}\n`);
    return ExitCode.Ok;
  }
  const next = cursor === undefined ? "" : `\nmore: floe runs${commandLine(options)} --cursor ${cursor} (or --all for every page)\n`;
  process.stdout.write(runs.length === 0 ? `${noRuns(options)}\n` : `${runsTable(runs)}\n${next}`);
  return ExitCode.Ok;
}

/** What an empty listing says: none at all, or none that the filters and cursor let through. */
export function noRuns(filter: { readonly workflow?: string; readonly state?: string; readonly cursor?: string }): string {
  const of = filter.workflow === undefined ? "" : ` of workflow ${filter.workflow}`;
  if (filter.cursor !== undefined) return `No more ${filter.state ?? ""}${filter.state === undefined ? "" : " "}runs${of}`;
  if (filter.workflow === undefined && filter.state === undefined) return "No runs yet";
  return `No ${filter.state ?? ""}${filter.state === undefined ? "" : " "}runs${of}`;
}

/** The filters of `options` as `floe runs` options, for the command that reads the next page. */
function commandLine(options: RunsOptions): string {
  const parts = [
    ...(options.workflow === undefined ? [] : ["--workflow", options.workflow]),
    ...(options.state === undefined ? [] : ["--state", options.state]),
    ...(options.limit === undefined ? [] : ["--limit", String(options.limit)]),
  ];
  return parts.map((p) => ` ${/^[\w.:/=-]+$/.test(p) ? p : JSON.stringify(p)}`).join("");
}

/**
 * Prints a run (given its id or the id of any execution in it) as a tree, a timeline and the
 * lines its tasks logged (only the execution's, given an execution's id), per attempt.
 */
export async function inspectCommand(id: string, options: { api: string; json?: boolean; width?: number; logs?: boolean } & ApiAuth): Promise<ExitCode> {
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
  if (options.logs !== false) {
    const { read, skipped } = await readRunLogs(api, run, id === run.id ? undefined : id);
    process.stdout.write(`\n${renderLogs(read, skipped)}\n`);
  }
  return ExitCode.Ok;
}
