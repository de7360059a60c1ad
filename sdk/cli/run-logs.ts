/**
 * The lines a run's tasks logged, for `floe inspect` and `floe run --logs`: read from
 * `GET /executions/{id}/logs` and printed per execution, each attempt's lines under it.
 */
import type { ExecutionLogsJson, LogLineJson } from "../logs/log-line.ts";
import type { ExecutionJson, RunJson } from "../http/views.ts";
import type { ApiClient } from "./api-client.ts";
import { label } from "./render.ts";

/** The most executions whose lines one command reads (a request each). */
export const MAX_EXECUTIONS_WITH_LOGS = 50;

/** An execution and its lines. */
export interface ExecutionLogs {
  readonly execution: ExecutionJson;
  readonly logs: ExecutionLogsJson;
}

/**
 * Reads the lines of `run`'s executions, in the run's order, at most
 * {@link MAX_EXECUTIONS_WITH_LOGS}; `only` narrows it to one execution.
 * @returns the executions with lines, and how many executions were left unread
 */
export async function readRunLogs(api: ApiClient, run: RunJson, only?: string): Promise<{ read: ExecutionLogs[]; skipped: number }> {
  const wanted = only === undefined ? run.executions : run.executions.filter((e) => e.id === only);
  const chosen = wanted.slice(0, MAX_EXECUTIONS_WITH_LOGS);
  const read = await Promise.all(chosen.map(async (execution) => ({ execution, logs: await api.logs(execution.id) })));
  return { read: read.filter((entry) => entry.logs.lines.length > 0), skipped: wanted.length - chosen.length };
}

/**
 * The lines, per execution and attempt:
 *
 * ```
 * logs:
 *   charge_card(42)  run~abc
 *     attempt 1
 *       12:00:01.250 info  charging {"amount":42}
 * ```
 */
export function renderLogs(entries: readonly ExecutionLogs[], skipped = 0): string {
  if (entries.length === 0 && skipped === 0) return "logs: none";
  const out = ["logs:"];
  for (const { execution, logs } of entries) {
    out.push(`  ${label(execution)}  ${execution.id}`);
    if (logs.dropped !== undefined) out.push(`    (${logs.dropped} older line${logs.dropped === 1 ? "" : "s"} dropped)`);
    let attempt: number | undefined;
    for (const line of logs.lines) {
      if (line.attempt !== attempt) {
        attempt = line.attempt;
        out.push(`    attempt ${attempt}`);
      }
      out.push(`      ${lineText(line)}`);
    }
    if (logs.truncated === true) out.push("    (more lines than one read returns: see the worker's log group)");
  }
  if (skipped > 0) out.push(`  (${skipped} more execution${skipped === 1 ? "" : "s"}: floe inspect <execution id> shows one's lines)`);
  return out.join("\n");
}

/** `12:00:01.250 warn  message {"fields":1}`, in UTC, a multi-line message indented under it. */
export function lineText(line: LogLineJson): string {
  const time = line.at.slice(11, 23);
  const fields = line.fields === undefined ? "" : ` ${JSON.stringify(line.fields)}`;
  return `${time} ${line.level.padEnd(5)} ${line.message.replace(/\n/g, "\n                         ")}${fields}`;
}
