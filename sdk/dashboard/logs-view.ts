/**
 * An execution's "Logs" section: the lines its tasks logged (`log`, `console`), fetched from
 * `GET /executions/{id}/logs` and shown under each attempt. Self-contained (an element and
 * the fetch that fills it), so the execution view places it wherever its layout wants.
 */
import type { ExecutionLogsJson, LogLineJson } from "../logs/log-json.ts";
import { h } from "./dom.ts";

/** Reads an execution's lines (the page's `GET /executions/{id}/logs`). */
export type LoadLogs = (executionId: string) => Promise<ExecutionLogsJson>;

/** The lines last read per execution: a re-render shows them at once, then the fresh ones. */
const lastRead = new Map<string, ExecutionLogsJson>();

/**
 * The Logs section of one execution, filled once its lines arrive.
 * @param executionId - the execution
 * @param load - how its lines are read
 */
export function logsView(executionId: string, load: LoadLogs): HTMLElement {
  const body = h("div", { class: "logs-body" });
  const known = lastRead.get(executionId);
  body.append(known === undefined ? h("p", { class: "empty" }, "Loading…") : linesByAttempt(known));
  load(executionId).then(
    (logs) => {
      lastRead.set(executionId, logs);
      body.replaceChildren(linesByAttempt(logs));
    },
    (error: unknown) => body.replaceChildren(h("p", { class: "failure" }, `Cannot read the logs: ${(error as Error).message}`)),
  );
  return h("section", { class: "logs", "data-logs-for": executionId }, h("h3", {}, "Logs"), body);
}

/** Each attempt's lines under a heading of its own, oldest first. */
function linesByAttempt(logs: ExecutionLogsJson): HTMLElement {
  if (logs.lines.length === 0) return h("p", { class: "empty" }, "No lines: log.info(…) or console.log(…) inside the task writes here.");
  const attempts = new Map<number, LogLineJson[]>();
  for (const line of logs.lines) attempts.set(line.attempt, [...(attempts.get(line.attempt) ?? []), line]);
  return h(
    "div",
    {},
    logs.dropped === undefined ? "" : h("p", { class: "empty" }, `${logs.dropped} older line${logs.dropped === 1 ? "" : "s"} dropped.`),
    ...[...attempts].map(([attempt, lines]) =>
      h("div", { class: "log-attempt", "data-attempt": attempt }, h("h4", {}, `attempt ${attempt}`), h("pre", { class: "log-lines" }, ...lines.map(lineElement))),
    ),
    logs.truncated === true ? h("p", { class: "empty" }, "More lines than one read returns: see the worker's log group.") : "",
  );
}

function lineElement(line: LogLineJson): HTMLElement {
  const fields = line.fields === undefined ? "" : ` ${JSON.stringify(line.fields)}`;
  return h("span", { class: `log-line level-${line.level}` }, `${line.at.slice(11, 23)} ${line.level.padEnd(5)} ${line.message}${fields}\n`);
}
