/**
 * `log` and `console` inside a task: each line is tagged with the run, execution, task and
 * attempt that wrote it and handed to the sink of the engine running the attempt (kept with
 * the execution on the embedded engine and the local cloud, a JSON line on stdout for
 * CloudWatch Logs on AWS). Outside any task, both go to the console as they always did.
 */
import { format } from "node:util";
import { currentContext } from "../runtime/context.ts";
import type { LogSink } from "./execution-logs.ts";
import { LogLevel, boundedMessage, plainFields, type TaggedLine } from "./log-line.ts";

/** What a runtime offers the lines written inside its attempts. */
export interface LogHost {
  /** Where the lines go; none: they go to the console, untagged. */
  readonly logSink: LogSink | undefined;
  /** Whether a kept line is also printed, as the console call would have printed it. */
  readonly echoLogs: boolean;
}

type ConsoleMethod = (...args: unknown[]) => void;
const consoleLevels = { log: LogLevel.Info, info: LogLevel.Info, warn: LogLevel.Warn, error: LogLevel.Error, debug: LogLevel.Debug } as const;
type ConsoleName = keyof typeof consoleLevels;

/** The console's own methods, as they were when the capture was installed. */
let originals: Record<ConsoleName, ConsoleMethod> | undefined;

/**
 * The host of the attempt running now and its line's tags, or `undefined` outside a task
 * (or on a runtime with no sink).
 */
function hostHere(): { host: LogHost; tags: TaggedLine["tags"]; now: number } | undefined {
  const context = currentContext();
  if (context === undefined) return undefined;
  const host = context.runtime as Partial<LogHost> & { readonly logClock?: () => number };
  if (host.logSink === undefined) return undefined;
  const { id, runId, taskName, attempt } = context.record;
  return { host: host as LogHost, tags: { runId, executionId: id, task: taskName, attempt }, now: host.logClock?.() ?? Date.now() };
}

function write(level: LogLevel, message: string, fields: unknown, echo: () => void): void {
  const here = hostHere();
  if (here === undefined) {
    echo();
    return;
  }
  const plain = plainFields(fields);
  const line: TaggedLine = { at: here.now, level, message: boundedMessage(message), ...(plain === undefined ? {} : { fields: plain }), tags: here.tags };
  try {
    here.host.logSink?.write(line);
  } catch {
    // A log line never fails the task that writes it.
  }
  if (here.host.echoLogs) echo();
}

function original(name: ConsoleName): ConsoleMethod {
  return originals?.[name] ?? ((...args: unknown[]) => console[name](...args));
}

function logAt(level: LogLevel, name: ConsoleName) {
  return (message: string, fields?: Record<string, unknown>): void => {
    const text = typeof message === "string" ? message : format(message);
    write(level, text, fields, () => (fields === undefined ? original(name)(text) : original(name)(text, fields)));
  };
}

/**
 * Logs from task code: inside a task each line is tagged with the run, execution, task and
 * attempt, and kept with the execution (embedded engine, local cloud) or written to
 * CloudWatch Logs as a JSON line (AWS); `GET /executions/{id}/logs`, `floe inspect` and the
 * dashboard show it. Outside a task it goes to the console, untagged and not kept.
 *
 * `fields` are made plain JSON without throwing: cycles become `"[Circular]"`, a BigInt its
 * decimal string, an error `{ name, message, code, stack, cause }`, Map and Set an object
 * and an array. A message over 8 KiB is cut, fields over 8 KiB are replaced by their size.
 *
 * @example
 * export const callApi = task("call_api", async (url: string) => {
 *   log.info("calling", { url });
 *   const response = await fetch(url);
 *   if (!response.ok) log.warn("refused", { status: response.status });
 *   return response.status;
 * });
 */
export const log = Object.freeze({
  /** A detail, for debugging; Lambda's application log level filters it out above DEBUG. */
  debug: logAt(LogLevel.Debug, "debug"),
  /** What the task is doing. */
  info: logAt(LogLevel.Info, "info"),
  /** Something unexpected the task goes on from. */
  warn: logAt(LogLevel.Warn, "warn"),
  /** A failure. */
  error: logAt(LogLevel.Error, "error"),
});

/**
 * Tags and keeps `console.log`, `info`, `warn`, `error` and `debug` inside a task, as
 * {@link log} does with a message of the arguments formatted as the console formats them;
 * outside any task a call goes straight to the method the console had. Installed once per
 * process by the first runtime; {@link restoreConsole} puts the methods back.
 */
export function captureConsole(): void {
  if (originals !== undefined) return;
  const saved = {} as Record<ConsoleName, ConsoleMethod>;
  for (const name of Object.keys(consoleLevels) as ConsoleName[]) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called on the console, and restored
    const method = console[name] as ConsoleMethod;
    saved[name] = method;
    const level = consoleLevels[name];
    console[name] = function captured(this: unknown, ...args: unknown[]): void {
      if (currentContext() === undefined) {
        method.apply(this, args);
        return;
      }
      write(level, format(...args), undefined, () => method.apply(this, args));
    };
  }
  originals = saved;
}

/** Puts back the console methods {@link captureConsole} replaced. */
export function restoreConsole(): void {
  if (originals === undefined) return;
  for (const name of Object.keys(originals) as ConsoleName[]) console[name] = originals[name];
  originals = undefined;
}
