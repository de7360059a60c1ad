/** `floe run`: runs a workflow, shows its progress live, prints its result and timeline. */
import type { ApiAuth } from "../api-auth.ts";
import { definitionsList } from "../../define/registry.ts";
import { isTerminal } from "../../engine/model.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import { httpApi, type ApiClient } from "../api-client.ts";
import { inProcessApi } from "../in-process-api.ts";
import { mergeRun } from "../../http/merge-run.ts";
import type { ExecutionJson, RunJson } from "../../http/views.ts";
import { CliError, ExitCode } from "../cli-error.ts";
import { engineName, openEngine, parseArgs } from "../engines.ts";
import { loadModule } from "../module-loader.ts";
import { formatMs, label, retriedAttempts, timeline } from "../render.ts";
import { catchStrayErrors } from "../stray-errors.ts";
import { readRunLogs, renderLogs } from "../run-logs.ts";

/** Options of `floe run`. */
export interface RunOptions extends ApiAuth {
  readonly localCloud?: boolean;
  readonly bundles?: string;
  readonly stack?: string;
  readonly api?: string;
  readonly concurrency?: number;
  /** Worker threads for `runner: "worker"` tasks, each importing the module being run. */
  readonly workers?: number;
  readonly json?: boolean;
  readonly progress?: boolean;
  readonly width?: number;
  readonly verbose?: boolean;
  /** Print the lines the run's tasks logged once it has finished. */
  readonly logs?: boolean;
}

/**
 * `floe run <module> <workflow> [args...]`, or `floe run --api <url> <workflow> [args...]`.
 * @returns `Ok` when the run completed, `RunFailed` when it failed or was cancelled
 */
export async function runCommand(first: string, rest: readonly string[], options: RunOptions): Promise<ExitCode> {
  if (options.api !== undefined && options.localCloud === true) {
    throw new CliError(ExitCode.BadInput, "--api and --local-cloud exclude each other: --api runs on a deployed stack or a `floe dev` server");
  }
  if (options.api !== undefined && options.bundles !== undefined) {
    throw new CliError(ExitCode.BadInput, "--api and --bundles exclude each other: --api runs on a deployed stack or a `floe dev` server");
  }
  if (options.api !== undefined && options.workers !== undefined) {
    throw new CliError(ExitCode.BadInput, "--api and --workers exclude each other: --workers runs tasks on threads of this process's embedded engine");
  }
  if (options.api !== undefined) return follow(httpApi(options.api, options), first, parseArgs(rest), options);
  const [workflow, ...args] = rest;
  if (workflow === undefined) {
    throw new CliError(ExitCode.BadInput, `name the workflow to run: floe run ${first} <workflow> [args...]`);
  }
  const parsed = parseArgs(args);
  // Task code runs in this process: what it leaves uncaught must fail its attempt, not the command.
  catchStrayErrors();
  const defined = await loadModule(first);
  if (!defined.includes(workflow)) {
    const isTask = definitionsList().some((d) => d.name === workflow);
    const known = isTask
      ? `"${workflow}" is a task; run one of its workflows: ${defined.join(", ")}`
      : defined.length === 0 ? "it defines no workflow (define one with workflow(name, fn))" : `its workflows are ${defined.join(", ")}`;
    throw new CliError(ExitCode.BadInput, isTask ? `${known}` : `no workflow is named "${workflow}" in ${first}; ${known}`);
  }
  let runtime: Runtime | undefined;
  try {
    // With --logs the lines are printed once, after the run, under their attempts.
    const { workers: count, ...choice } = options;
    runtime = await openEngine({
      ...choice,
      printLogs: options.logs !== true,
      // The threads import the module being run: it defines the workflow's tasks.
      ...(count === undefined ? {} : { workers: { count, module: first } }),
    });
    return await follow(inProcessApi(runtime, engineName(choice)), workflow, parsed, options);
  } finally {
    await runtime?.close();
  }
}

async function follow(api: ApiClient, workflow: string, args: unknown[], options: RunOptions): Promise<ExitCode> {
  const id = await api.start(workflow, args);
  const progress = options.json === true || options.progress === false ? undefined : new Progress();
  const interrupt = new Interrupt();
  let run: RunJson | undefined;
  try {
    for (;;) {
      // After the first read, only what changed since the one before (`?since=`), merged in.
      const read: RunJson | undefined = await api.run(id, run?.cursor);
      if (read === undefined) throw new CliError(ExitCode.Unreachable, `${api.where} lost run ${id}`);
      run = run === undefined ? read : mergeRun(run, read);
      progress?.show(run);
      // Done when everything has finished, fire-and-forget work included.
      if (run.executions.every((e) => isTerminal(e.state))) break;
      if (await interrupt.within(100)) {
        progress?.end();
        process.stderr.write(`${interrupted(id, api, options)}\n`);
        return ExitCode.Interrupted;
      }
    }
  } finally {
    interrupt.dispose();
  }
  progress?.end();
  const outcome = await api.result(id);
  const logs = options.logs === true ? await readRunLogs(api, run) : undefined;
  if (options.json === true) {
    const withLogs = logs === undefined ? {} : { logs: logs.read.map(({ logs: l }) => l) };
    process.stdout.write(`${JSON.stringify({ ...summary(run, workflow, outcome), ...withLogs }, null, 2)}\n`);
  } else {
    process.stdout.write(`${report(run, workflow, outcome, options)}\n`);
    if (logs !== undefined) process.stdout.write(`\n${renderLogs(logs.read, logs.skipped)}\n`);
  }
  return outcome.state === "completed" ? ExitCode.Ok : ExitCode.RunFailed;
}

function summary(run: RunJson, workflow: string, outcome: ExecutionJson) {
  return {
    id: run.id,
    workflow,
    state: outcome.state,
    ...(outcome.state === "completed" ? { result: outcome.result } : { error: outcome.error }),
    executions: run.executions,
    edges: run.edges,
  };
}

function report(run: RunJson, workflow: string, outcome: ExecutionJson, options: RunOptions): string {
  const root = run.executions.find((e) => e.id === run.id);
  const end = Math.max(...run.executions.map((e) => e.finishedAt ?? 0));
  const lines = [`run ${run.id}: ${workflow} ${outcome.state} in ${formatMs(end - (root?.createdAt ?? end))}`];
  if (outcome.state === "completed") {
    lines.push(`result: ${JSON.stringify(outcome.result)}`);
  } else if (outcome.error !== undefined) {
    const { name, code, message, stack } = outcome.error;
    lines.push(`error: ${name}${code === undefined ? "" : ` [${code}]`}: ${message}`);
    if (options.verbose === true && stack !== undefined) lines.push(stack);
  }
  lines.push(...retries(run, options.verbose === true));
  lines.push("", timeline(run, options.width ?? 60));
  return lines.join("\n");
}

/** What Ctrl-C on `floe run` says: the run's id, and where (or whether) it can be seen. */
function interrupted(id: string, api: ApiClient, options: RunOptions): string {
  if (options.api !== undefined) {
    return `floe run: stopped following run ${id}; it goes on at ${options.api}: see it with \`floe inspect ${id} --api ${options.api}\``;
  }
  return (
    `floe run: stopped run ${id} before it finished; on ${api.where} a run lives in this process and ends with it, ` +
    "so it cannot be inspected later: to keep runs, start `floe dev` and run it there with `floe run --api`"
  );
}

/** Ctrl-C while a run is followed: noticed between polls instead of ending the process at once. */
class Interrupt {
  #signalled = false;
  #wake: (() => void) | undefined;
  readonly #listener = (): void => {
    this.#signalled = true;
    this.#wake?.();
  };

  constructor() {
    process.on("SIGINT", this.#listener);
  }

  /** Waits `ms`, or less if Ctrl-C comes first; answers whether it came. */
  within(ms: number): Promise<boolean> {
    if (this.#signalled) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.#signalled), ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  dispose(): void {
    process.off("SIGINT", this.#listener);
  }
}

/** The attempts that failed and were retried, by execution: why the run took more than one try. */
function retries(run: RunJson, verbose: boolean): string[] {
  const lines: string[] = [];
  for (const e of run.executions) {
    const retried = retriedAttempts(e);
    if (retried.length === 0) continue;
    lines.push(`  ${label(e)}  ${e.id}`);
    for (const { text, stack } of retried) {
      lines.push(`    ${text}`);
      if (verbose && stack !== undefined) lines.push(stack.replace(/^/gm, "      "));
    }
  }
  return lines.length === 0 ? [] : ["retried:", ...lines];
}

/** Live counts on stderr: one line rewritten on a terminal, a line per change otherwise. */
class Progress {
  readonly #tty = process.stderr.isTTY;
  readonly #began = Date.now();
  #last = "";

  show(run: RunJson): void {
    const count = (...states: string[]) => run.executions.filter((e) => states.includes(e.state)).length;
    const line =
      `${run.executions.length} execution${run.executions.length === 1 ? "" : "s"}: ` +
      `${count("waiting", "queued", "suspended")} queued, ${count("running")} running, ` +
      `${count("sleeping") > 0 ? `${count("sleeping")} sleeping, ` : ""}` +
      `${count("completed")} done, ${count("failed", "cancelled")} failed`;
    if (line === this.#last) return;
    this.#last = line;
    if (this.#tty) process.stderr.write(`\r\x1b[2K${line}  ${formatMs(Date.now() - this.#began)}`);
    else process.stderr.write(`${line}\n`);
  }

  end(): void {
    if (this.#tty && this.#last !== "") process.stderr.write("\n");
  }
}
