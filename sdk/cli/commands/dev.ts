/**
 * `floe dev <module>`: the HTTP API and the dashboard on localhost over the embedded engine
 * (or the local cloud), the module loaded again whenever one of its files changes. Runs
 * stay in the engine across reloads; attempts that start after a reload run the new code.
 */
import type { ApiAuth } from "../api-auth.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import { definitionsList } from "../../define/registry.ts";
import { systemClock } from "../../runtime/system.ts";
import { ScheduleRunner } from "../../schedules/runner.ts";
import type { ScheduleControl } from "../../schedules/routes.ts";
import { CliError } from "../cli-error.ts";
import { engineName, openEngine } from "../engines.ts";
import { isLoopback } from "../local-secret.ts";
import { loadModule, watchModule } from "../module-loader.ts";
import { localApi, remoteApi, startServer, type Server } from "../server.ts";
import { catchStrayErrors } from "../stray-errors.ts";

/** Options of `floe dev`. */
export interface DevOptions {
  readonly localCloud?: boolean;
  /** With `localCloud`: the folder that keeps the runs across restarts. */
  readonly data?: string;
  readonly bundles?: string;
  readonly stack?: string;
  readonly concurrency?: number;
  readonly host: string;
  readonly port: number;
  readonly watch?: boolean;
}

/** Serves until SIGINT or SIGTERM. */
export async function devCommand(module: string, options: DevOptions): Promise<void> {
  // Task code runs in this process: what it leaves uncaught must fail its attempt, not the server.
  catchStrayErrors();
  const workflows = await loadModule(module);
  // Callback URLs name this server; with a port picked at start (0) they are relative.
  const base = options.port === 0 ? {} : { callbackBaseUrl: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}` };
  const runtime: Runtime = await openEngine({ ...options, ...base });
  const tickFailed = (workflow: string, error: unknown) => log(`the scheduled run of ${workflow} did not start: ${String(error)}`);
  // Replaced on each reload, so the control reads whichever runner is current.
  let schedules = new ScheduleRunner(runtime, systemClock, definitionsList(), tickFailed);
  const control: ScheduleControl = { list: () => schedules.list(), pause: (w) => schedules.pause(w), resume: (w) => schedules.resume(w) };
  let server: Server;
  try {
    server = await startServer(localApi(() => runtime, control), options);
  } catch (error) {
    schedules.stop();
    await runtime.close();
    throw error;
  }
  if (options.port === 0) runtime.useCallbackBaseUrl(server.url);
  log(`serving the API and the dashboard at ${server.url}/ on ${engineName(options)}`);
  if (options.data !== undefined) log(`runs are kept in ${options.data}: they survive a restart on the same folder`);
  warnIfExposed(options.host, log);
  log(`workflows: ${workflows.join(", ") || "none (define one with workflow(name, fn))"}`);
  for (const s of schedules.list()) log(`schedule: ${s.workflow} ${s.schedule}, next at ${s.next?.toISOString() ?? "(paused)"}`);
  const stopWatching =
    options.watch === false
      ? () => undefined
      : watchModule(() => {
          loadModule(module).then(
            (names) => {
              schedules = schedules.replace(definitionsList());
              log(`reloaded ${module}; workflows: ${names.join(", ")}`);
            },
            (error: unknown) => log(`${error instanceof CliError ? error.message : String(error)}; still serving the previous version`),
          );
        });
  await untilSignal();
  stopWatching();
  schedules.stop();
  await server.close();
  await runtime.close();
}

/** `floe dashboard --api <url>`: the dashboard for a deployed API, which it forwards to. */
export async function dashboardCommand(api: string, options: { host: string; port: number } & ApiAuth): Promise<void> {
  const server = await startServer(remoteApi(api, options), options);
  const say = (line: string) => log(line, "floe dashboard");
  say(`serving the dashboard at ${server.url}/ for the floe API at ${api}`);
  warnIfExposed(options.host, say);
  await untilSignal();
  await server.close();
}

/** Web pages are stopped on any address (`request-guard.ts`); other machines only on loopback. */
function warnIfExposed(host: string, say: (line: string) => void): void {
  if (!isLoopback(host)) say(`listening on ${host}: anyone who can reach this port can load the dashboard and use it as you do`);
}

/** A line of the server's log, under the command's name. */
function log(line: string, command = "floe dev"): void {
  process.stdout.write(`${command}: ${line}\n`);
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
