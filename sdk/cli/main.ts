/**
 * The `floe` command: `run`, `dev`, `dashboard`, `runs`, `inspect`, `complete`, `rerun`, `cancel`, `schedules`. Each failure the user
 * can fix is one line on stderr with the fix and an {@link ExitCode} that says which kind
 * it was; stacks only with `--verbose`.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CliError, ExitCode } from "./cli-error.ts";
import { wholeOption } from "./whole-option.ts";

const defaultApi = "http://127.0.0.1:3700";

const exitCodes = `
Exit codes:
  0  done (for run: the run completed)
  1  the run failed or was cancelled
  2  bad input: usage, an unknown module, workflow or id, arguments that do not parse
  3  the API cannot be reached (or the local cloud cannot start)
  4  an unexpected error in floe (--verbose prints its stack)
  130  run stopped by Ctrl-C before the run finished`;

/**
 * Runs the command line `argv` (as `process.argv`: node, script, arguments...).
 * @returns the exit code; `dev` and `dashboard` return only once stopped by a signal
 */
export async function main(argv: readonly string[]): Promise<number> {
  let code: number = ExitCode.Ok;
  const program = build((c) => (code = c));
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true || argv.includes("--verbose");
    return report(error, verbose);
  }
}

function report(error: unknown, verbose: boolean): number {
  const known = error instanceof CliError;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(known ? `floe: ${message}\n` : `floe: unexpected error: ${message} (run again with --verbose for its stack)\n`);
  if (verbose) {
    const cause = error instanceof Error ? error.cause : undefined;
    process.stderr.write(`${(known && cause instanceof Error ? cause : (error as Error)).stack ?? ""}\n`);
  }
  return known ? error.exitCode : ExitCode.Internal;
}

function build(setCode: (code: number) => void): Command {
  const program = new FloeCommand("floe")
    .description("Run, serve and inspect floe workflows.")
    .version(version(), "-V, --version")
    .option("--verbose", "print the stack of an error")
    .addHelpText("after", exitCodes)
    .showSuggestionAfterError()
    .exitOverride();
  configure(program);

  configure(
    program
      .command("run")
      .summary("run a workflow and print its timeline")
      .description(
        "Run a workflow on the embedded engine (or the local cloud, or a deployed API), show its progress live and print its " +
          "result and timeline. Arguments are parsed as JSON where they are JSON (42, true, {\"a\":1}), else taken as text.",
      )
      .usage("[options] <module> <workflow> [args...]\n       floe run [options] --api <url> <workflow> [args...]")
      .argument("<module>", "the .ts or .js file that defines the workflow (with --api: the workflow)")
      .argument("[rest...]", "the workflow's name, then its arguments")
      .option("--local-cloud", "run on the local cloud (DynamoDB Local, SQS and S3 servers; needs Java 17)")
      .option("--bundles <dir>", "run on a synthesized app's real Lambda bundles (the cdk.out folder), each function in its own processes")
      .option("--stack <name>", "with --bundles: the stack to run, when the app has several")
      .apiOptions(new Option("--api <url>", "start the run on the floe API at <url> (a `floe dev` server or a deployed stack)"))
      .option("--concurrency <n>", "how many tasks may run at once", wholeOption("--concurrency", 1, 100_000))
      .option("--workers <n>", 'run tasks marked runner: "worker" on <n> worker threads, each importing <module> (embedded engine)', wholeOption("--workers", 1, 256))
      .option("--width <n>", "the timeline's width in characters", wholeOption("--width", 1, 1000), 60)
      .option("--no-progress", "do not show live progress on stderr")
      .option("--json", "print the run as JSON (state, result or error, executions, edges)")
      .option("--logs", "once the run has finished, print the lines its tasks logged (log, console), per execution and attempt (up to 50 executions)")
      .action(async (first: string, rest: string[], options: Record<string, unknown>) => {
        // Commands are imported when run, so `--help` and usage errors answer at once.
        const { runCommand } = await import("./commands/run.ts");
        setCode(await runCommand(first, rest, { ...options, verbose: program.opts().verbose === true }));
      }),
  );

  configure(
    program
      .command("dev")
      .summary("serve the API and the dashboard over a module, reloading it on change")
      .description("Serve the HTTP API and the dashboard on localhost over the embedded engine (or the local cloud); load the module again when one of its files changes.")
      .argument("<module>", "the .ts or .js file that defines your workflows")
      .option("--local-cloud", "serve the local cloud instead of the embedded engine (needs Java 17)")
      .option("--data <dir>", "with --local-cloud: keep the runs in <dir> (created if missing), so that they survive a restart")
      .option("--bundles <dir>", "serve a synthesized app's real Lambda bundles (the cdk.out folder) instead of the embedded engine")
      .option("--stack <name>", "with --bundles: the stack to serve, when the app has several")
      .option("--host <host>", "the address to listen on", "127.0.0.1")
      .option("-p, --port <port>", "the port to listen on (0 picks a free one)", wholeOption("--port", 0, 65_535), 3700)
      .option("--concurrency <n>", "how many tasks may run at once", wholeOption("--concurrency", 1, 100_000))
      .option("--no-watch", "do not reload the module when it changes")
      .action(async (module: string, options: { host: string; port: number }) => {
        const { devCommand } = await import("./commands/dev.ts");
        await devCommand(module, options);
      }),
  );

  configure(
    program
      .command("dashboard")
      .summary("serve the dashboard for a deployed API")
      .description("Serve the dashboard on localhost for the floe API at --api, forwarding its requests there.")
      .apiOptions(new Option("--api <url>", "the floe API").env("FLOE_API").makeOptionMandatory())
      .option("--host <host>", "the address to listen on", "127.0.0.1")
      .option("-p, --port <port>", "the port to listen on (0 picks a free one)", wholeOption("--port", 0, 65_535), 3701)
      .action(async (options: { api: string; host: string; port: number; token?: string; iam?: boolean }) => {
        const { dashboardCommand } = await import("./commands/dev.ts");
        await dashboardCommand(options.api, options);
      }),
  );

  configure(
    program
      .command("runs")
      .summary("list recent runs")
      .description("List recent runs, newest first, from a `floe dev` server or a deployed API, filtered and paged by the API.")
      .apiOptions()
      .option("-w, --workflow <name>", "only runs of this workflow")
      .option("-s, --state <state>", "only runs in this state (completed, failed, running, ...)")
      .option("-n, --limit <n>", "how many runs a page holds (1 to 100)", wholeOption("--limit", 1, 100), 20)
      .option("--cursor <cursor>", "the page after the one this cursor ended (printed after a full page)")
      .option("--all", "read every page")
      .option("--json", "print the runs as JSON (with the next page's cursor)")
      .action(async (options: { api: string }) => {
        const { runsCommand } = await import("./commands/inspect.ts");
        setCode(await runsCommand(options));
      }),
  );

  configure(
    program
      .command("inspect")
      .summary("show one run as a tree, a timeline and its logs")
      .description(
        "Show a run (given its id or the id of any of its executions) as a tree of executions with states, attempts, durations and errors, " +
          "then its timeline, then the lines its tasks logged (log, console) under each attempt: every execution's (up to 50) for a run's id, " +
          "only that execution's for an execution's id.",
      )
      .argument("<id>", "a run id or an execution id")
      .apiOptions()
      .option("--width <n>", "the timeline's width in characters", wholeOption("--width", 1, 1000), 60)
      .option("--json", "print the run as JSON")
      .option("--no-logs", "do not read and print the lines the tasks logged")
      .action(async (id: string, options: { api: string }) => {
        const { inspectCommand } = await import("./commands/inspect.ts");
        setCode(await inspectCommand(id, options));
      }),
  );
  configure(
    program
      .command("complete")
      .summary("complete an external execution with a result or an error")
      .description("Complete an external execution (made by external() in a task) on the API, with --result <json> or --error <message> [--code <code>].")
      .argument("<id>", "the external execution's id")
      .apiOptions()
      .option("--result <json>", "the result, as JSON (a string in quotes: '\"yes\"')")
      .option("--error <message>", "fail it with this message instead")
      .option("--code <code>", "with --error: the error's code, such as E_REJECTED")
      .action(async (id: string, options: { api: string }) => {
        const { completeCommand } = await import("./commands/complete.ts");
        setCode(await completeCommand(id, options));
      }),
  );
  configure(
    program
      .command("rerun")
      .summary("run a failed or cancelled run again, reusing what completed")
      .description("Re-run a failed or cancelled run on the API, in place: its completed executions are reused, what failed or was cancelled runs again with what depends on it.")
      .argument("<id>", "the run's id, or the id of any execution of it")
      .apiOptions()
      .action(async (id: string, options: { api: string }) => {
        const { rerunCommand } = await import("./commands/rerun.ts");
        setCode(await rerunCommand(id, options));
      }),
  );
  configure(
    program
      .command("cancel")
      .summary("cancel an execution, or every run of a workflow in a state")
      .description("Cancel an execution and everything under it, or with --workflow and --state every run of a workflow whose root is in that state (--dry-run lists them).")
      .argument("[id]", "the execution to cancel")
      .option("--workflow <name>", "cancel the runs of this workflow")
      .option("--state <state>", "with --workflow: the runs in this live state (waiting, queued, running, suspended, sleeping)")
      .option("--dry-run", "with --workflow: list the runs that would be cancelled, cancel nothing")
      .apiOptions()
      .action(async (id: string | undefined, options: { api: string }) => {
        const { cancelCommand } = await import("./commands/rerun.ts");
        setCode(await cancelCommand(id, options));
      }),
  );
  const schedules = configure(
    program
      .command("schedules")
      .summary("list scheduled workflows with their next times; pause and resume them")
      .description("List the scheduled workflows of a module, or of a `floe dev` server or deployed API, with their next ticks; pause or resume one on the API."),
  );
  for (const [action, paused] of [["pause", true], ["resume", false]] as const) {
    configure(
      schedules
        .command(action)
        .description(`${paused ? "Pause" : "Resume"} a workflow's schedule on the API${paused ? ": its ticks start no runs until resumed" : ", from its next tick"}.`)
        .argument("<workflow>", "the scheduled workflow")
        .apiOptions()
        .option("--json", "print the schedule as JSON")
        .action(async (workflow: string, options: { api: string }) => {
          const { pauseScheduleCommand } = await import("./commands/schedules.ts");
          setCode(await pauseScheduleCommand(workflow, paused, options));
        }),
    );
  }
  configure(
    schedules
      .command("list", { isDefault: true })
      .description("List the scheduled workflows with their next ticks: of <module> if given, else of the API.")
      .argument("[module]", "the .ts or .js file that defines your workflows (without it: ask the API)")
      .apiOptions()
      .option("--json", "print the schedules as JSON")
      .action(async (module: string | undefined, options: { api: string }) => {
        const { listSchedulesCommand } = await import("./commands/schedules.ts");
        setCode(await listSchedulesCommand(module, options));
      }),
  );
  return program;
}

/** floe's commands: each one that talks to a floe API takes its options from {@link apiOptions}. */
class FloeCommand extends Command {
  // Commander builds subcommands with this, so `.command()` answers a FloeCommand too.
  override createCommand(name?: string): FloeCommand {
    return new FloeCommand(name);
  }

  /**
   * Adds the options of a command that talks to a floe API: where it is, and how to
   * authorise (a bearer token, or SigV4 signing).
   * @param api - the `--api` option, for a command that reads it differently
   */
  apiOptions(api: Option = new Option("--api <url>", "the floe API (a `floe dev` server or a deployed stack)").env("FLOE_API").default(defaultApi)): this {
    return this.addOption(api)
      .addOption(new Option("--token <jwt>", "a bearer token for an API with a JWT authorizer").env("FLOE_API_TOKEN"))
      .addOption(
        new Option(
          "--iam",
          "sign requests with SigV4 and your AWS credentials (the Orchestrator's default authorisation; automatic for *.execute-api.<region>.amazonaws.com)",
        ),
      );
  }
}

/** One line per usage error, naming the help that shows the fix. */
function configure<C extends Command>(command: C): C {
  // The whole path, so that a nested command's help is named as it is typed: `floe schedules pause --help`.
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  const name = names.join(" ");
  return command.exitOverride().configureOutput({
    outputError: (text, write) => write(`floe: ${text.replace(/^error: /, "").trim().replace(/\n+/g, " ")} (see \`${name} --help\`)\n`),
  });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}
