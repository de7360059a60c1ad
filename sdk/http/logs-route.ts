/**
 * `GET /executions/{id}/logs[?attempt=N]`: the lines an execution's tasks wrote, oldest
 * first, tagged with their attempt (see `sdk/logs/`).
 */
import { ErrorCode } from "../errors.ts";
import type { ExecutionRecord } from "../engine/model.ts";
import { lineJson, type ExecutionLogsJson } from "../logs/log-line.ts";
import type { Runtime } from "../runtime/runtime.ts";

/** Makes the HTTP error the routes answer with. */
export type MakeHttpError = (status: number, code: string, message: string, fields?: Record<string, string>) => Error;

/**
 * Answers the route for the execution `id`.
 * @throws the error `fail` makes: 404 for an unknown execution, 400 for a bad `attempt`
 */
export async function executionLogs(runtime: Runtime, id: string, attemptText: string | undefined, fail: MakeHttpError): Promise<ExecutionLogsJson> {
  const record = await runtime.getExecution(id);
  if (record === undefined) throw fail(404, ErrorCode.UnknownExecution, `no execution has the id "${id}"`);
  const attempt = attemptOf(attemptText, record, fail);
  const page = await runtime.readLogs(record, attempt);
  return {
    executionId: id,
    lines: page.lines.map(lineJson),
    ...(page.dropped === undefined ? {} : { dropped: page.dropped }),
    ...(page.truncated === true ? { truncated: true } : {}),
  };
}

function attemptOf(text: string | undefined, record: ExecutionRecord, fail: MakeHttpError): number | undefined {
  if (text === undefined) return undefined;
  const attempt = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (attempt >= 1 && attempt <= record.attempt) return attempt;
  const message = `attempt must be a whole number from 1 to ${record.attempt} (the execution's attempts so far), got ${JSON.stringify(text)}; leave it out for every attempt's lines`;
  throw fail(400, ErrorCode.BadRequest, `invalid request: attempt: ${message}`, { attempt: message });
}
