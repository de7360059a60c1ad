/**
 * The re-run and bulk-cancel routes: `POST /executions/{id}/rerun` and
 * `POST /workflows/{name}/cancel`. The routes module dispatches to them and shapes errors:
 * each takes its `fail` to make a response error.
 */
import * as z from "../zod.ts";
import { CancelledError, ErrorCode } from "../errors.ts";
import { State, isTerminal, type ExecutionRecord, type ExecutionState } from "../engine/model.ts";
import type { RunPosition } from "../engine/ports.ts";
import { rerunRefusal } from "../engine/rerun.ts";
import { Kind, lookup } from "../define/registry.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { HttpRequest, HttpResponse } from "./routes.ts";

/** Makes the error a route answers with: status, code, message and the fields at fault. */
export type Fail = (status: number, code: string, message: string, fields?: Record<string, string>) => Error;

/**
 * `POST /executions/{id}/rerun`: re-runs the failed or cancelled run of execution `id` (its
 * root or any execution of it) in place. 202 `{ id, runId, attempt, statusUrl }` with the
 * root's id, 404 for an unknown id, 409 `FLOE_CONFLICT` naming the state of a run that is
 * live or completed, or that a request at the same moment re-ran first.
 */
export async function rerunRoute(runtime: Runtime, id: string, fail: Fail): Promise<HttpResponse> {
  const done = await runtime.rerun(id);
  switch (done.status) {
    case "started": {
      const root = done.record;
      return { status: 202, body: { id: root.id, runId: root.runId, attempt: root.attempt, statusUrl: `/executions/${encodeURIComponent(root.id)}` } };
    }
    case "unknown":
      throw fail(404, ErrorCode.UnknownExecution, `no execution has the id "${id}"`);
    case "refused":
      throw fail(409, ErrorCode.Conflict, rerunRefusal(done.record));
    default:
      throw new Error(`unknown re-run outcome ${JSON.stringify(done satisfies never)}`);
  }
}

/** The states whose runs a bulk cancel takes: the live ones. */
export const CANCELLABLE_STATES: readonly ExecutionState[] = Object.values(State).filter((s) => !isTerminal(s));

/** The most runs one bulk-cancel request cancels; `more` says when there may be others. */
export const BULK_CANCEL_MAX = 1_000;

const limitMessage = `limit must be a whole number from 1 to ${BULK_CANCEL_MAX}`;

const bulkCancelSchema = z.strictObject({
  state: z.enum(CANCELLABLE_STATES as [ExecutionState, ...ExecutionState[]], {
    error: `state must be one of ${CANCELLABLE_STATES.join(", ")} (the live states): the runs whose root is in it are cancelled`,
  }),
  dryRun: z.optional(z.boolean({ error: "dryRun must be true or false" })),
  limit: z.optional(
    z.number({ error: limitMessage }).check(z.int({ error: limitMessage }), z.gte(1, { error: limitMessage }), z.lte(BULK_CANCEL_MAX, { error: limitMessage })),
  ),
});

/** A bulk cancel's request body. */
export type BulkCancelRequest = z.infer<typeof bulkCancelSchema>;

/**
 * `POST /workflows/{name}/cancel` with `{ state, dryRun?, limit? }`: cancels every run of
 * workflow `name` whose root is in `state` (a live state), paging over the runs listing,
 * at most `limit` (default and most {@link BULK_CANCEL_MAX}) a request. 200
 * `{ workflow, state, cancelled, ids, more }`; with `dryRun`, `{ …, matched, ids }` and
 * nothing cancelled. `more` is true when the limit was reached: the caller asks again.
 * A run that finished between the listing and its cancellation is not counted.
 */
export async function bulkCancelRoute(runtime: Runtime, name: string, request: HttpRequest, fail: Fail): Promise<HttpResponse> {
  workflowNamed(name, fail);
  const body = parseBody(request.body, fail);
  const parsed = bulkCancelSchema.safeParse(body);
  if (!parsed.success) {
    const fields: Record<string, string> = {};
    for (const issue of parsed.error.issues) fields[issue.path.join(".") || "body"] = issue.message;
    const text = Object.entries(fields).map(([field, message]) => `${field}: ${message}`).join("; ");
    throw fail(400, ErrorCode.BadRequest, `invalid request: ${text}`, fields);
  }
  const { state, dryRun = false, limit = BULK_CANCEL_MAX } = parsed.data;
  const roots = await liveRuns(runtime, name, state, limit);
  const more = roots.length === limit;
  if (dryRun) return { status: 200, body: { workflow: name, state, dryRun: true, matched: roots.length, ids: roots.map((r) => r.id), more } };
  const ids: string[] = [];
  for (const root of roots) {
    // One run at a time: a cancel sweeps its run's executions, 32 writes at once.
    const cancelled = await runtime.engine.cancel(root.id, cancelReason(name, state));
    if (cancelled[0] === root.id) ids.push(root.id);
  }
  return { status: 200, body: { workflow: name, state, cancelled: ids.length, ids, more } };
}

/** Up to `limit` runs of `name` whose root is in `state`, newest first, read a page at a time. */
async function liveRuns(runtime: Runtime, name: string, state: ExecutionState, limit: number): Promise<ExecutionRecord[]> {
  const found: ExecutionRecord[] = [];
  let after: RunPosition | undefined;
  while (found.length < limit) {
    const size = Math.min(100, limit - found.length);
    const page = await runtime.listRuns({ taskName: name, state, limit: size, ...(after === undefined ? {} : { after }) });
    found.push(...page);
    const last = page.at(-1);
    if (last === undefined || page.length < size) break;
    after = { createdAt: last.createdAt, id: last.id };
  }
  return found;
}

function workflowNamed(name: string, fail: Fail): void {
  let kind: string;
  try {
    kind = lookup(name).kind;
  } catch {
    throw fail(404, ErrorCode.UnknownTask, `no workflow is named "${name}"`);
  }
  if (kind !== Kind.Workflow) throw fail(404, ErrorCode.UnknownTask, `"${name}" is a task, not a workflow: cancel its runs by their workflow`);
}

function parseBody(text: string | undefined, fail: Fail): unknown {
  try {
    return text === undefined || text === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw fail(400, ErrorCode.BadJson, `the request body is not JSON: ${(error as Error).message}`);
  }
}

function cancelReason(name: string, state: ExecutionState): CancelledError {
  return new CancelledError(`cancelled with every ${state} run of "${name}"`);
}
