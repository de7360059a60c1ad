/**
 * The HTTP API of DESIGN section 4, independent of the server that carries it: the API
 * Lambda (API Gateway) and `floe dev` both hand requests to {@link handleRequest}. Input is
 * validated before anything is written, so a rejected request changes nothing.
 */
import * as z from "../zod.ts";
import { definitionsList, lookup } from "../define/registry.ts";
import { Kind } from "../define/registry.ts";
import { State, isTerminal, type ExecutionRecord, type ExecutionState } from "../engine/model.ts";
import type { RunPosition } from "../engine/ports.ts";
import { ErrorCode, InvalidInputError, errorCode, forwardCycle } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { MAX_DELAY_MS, type StartDelay } from "../runtime/start-delay.ts";
import { scheduleRoute, type ScheduleControl } from "../schedules/routes.ts";
import { executionJson, executionView, runJson, runView, summary } from "./describe.ts";
import { completionOf } from "./completion.ts";
import { badSince, cursorTime } from "./since-cursor.ts";
import { verifyCallbackToken } from "../runtime/callback-token.ts";
import { executionLogs } from "./logs-route.ts";
import { bulkCancelRoute, rerunRoute, type Fail } from "./rerun-routes.ts";

/** A request, as any server sees it. */
export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  /**
   * Who is asking, as the server authenticated them: the scope of their idempotency keys,
   * so one caller can neither reach nor probe another's. `iam:<principal>` or
   * `jwt:<issuer and subject>` behind API Gateway, `anonymous` there without an identity,
   * `local` for `floe dev`.
   */
  readonly caller: string;
}

/** A JSON response. */
export interface HttpResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Settings of {@link handleRequest}. */
export interface RoutesOptions {
  /**
   * The largest request body accepted, in bytes.
   * @default 1048576
   */
  readonly maxBodyBytes?: number;
  /** Waits before a long poll checks the execution again. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Include an error's stack in execution views. A stack names the deployment's files and
   * lines, so only the owner's own tools ask for it (`floe run` in process, a `floe dev`
   * request that carries the server's secret); anyone with read access to an API does not.
   * @default false
   */
  readonly errorStacks?: boolean;
  /** The scheduled workflows, for `GET /schedules` and their pause and resume. */
  readonly schedules?: ScheduleControl;
}

const startSchema = z.strictObject({
  args: z._default(z.array(z.unknown(), { error: "args must be an array of the workflow's arguments" }), []),
  startAt: z.optional(
    z.iso.datetime({ offset: true, error: 'startAt must be an ISO 8601 date and time, such as "2027-01-04T09:00:00Z"' }),
  ),
  delayMs: z.optional(
    z.number({ error: "delayMs must be a number of milliseconds" }).check(
      z.int({ error: "delayMs must be a whole number of milliseconds" }),
      z.minimum(0, { error: "delayMs must be 0 or more (a start cannot be in the past)" }),
      z.maximum(MAX_DELAY_MS, { error: `delayMs must be at most ${MAX_DELAY_MS} (30 days)` }),
    ),
  ),
});
const idempotencyKey = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(256, { error: "the Idempotency-Key header must be at most 256 characters" }),
    z.regex(/^[\x21-\x7e]+$/, { error: "the Idempotency-Key header must be printable ASCII without spaces" }),
  );
const waitSeconds = z.coerce
  .number({ error: "waitSeconds must be a number" })
  .check(
    z.int({ error: "waitSeconds must be a whole number of seconds" }),
    z.minimum(0, { error: "waitSeconds must be between 0 and 25" }),
    z.maximum(25, { error: "waitSeconds must be between 0 and 25" }),
  );
const limit = z.coerce
  .number({ error: "limit must be a number" })
  .check(
    z.int({ error: "limit must be a whole number" }),
    z.minimum(1, { error: "limit must be between 1 and 100" }),
    z.maximum(100, { error: "limit must be between 1 and 100" }),
  );

/** Makes the {@link HttpError} a route module outside this one answers with. */
const fail: Fail = (status, code, message, fields) => new HttpError(status, code, message, fields);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
  }
}

/**
 * Answers one request against `runtime`.
 *
 * @example
 * const response = await handleRequest(engine, { method: "POST", path: "/workflows/process_order/executions",
 *   query: {}, headers: {}, body: '{"args":["u1","p1"]}', caller: "local" });
 */
export async function handleRequest(runtime: Runtime, request: HttpRequest, options: RoutesOptions = {}): Promise<HttpResponse> {
  try {
    return await route(runtime, request, options);
  } catch (error) {
    if (error instanceof HttpError) {
      return { status: error.status, body: { error: { code: error.code, message: error.message, fields: error.fields } } };
    }
    throw error;
  }
}

async function route(runtime: Runtime, request: HttpRequest, options: RoutesOptions): Promise<HttpResponse> {
  const parts = pathParts(request.path);
  const { method } = request;
  if (method === "POST" && parts.length === 3 && parts[0] === "workflows" && parts[2] === "executions") {
    return start(runtime, parts[1] ?? "", request, options);
  }
  if (method === "GET" && parts.length === 2 && parts[0] === "executions") return { status: 200, body: await view(runtime, parts[1] ?? "", options) };
  if (method === "GET" && parts.length === 3 && parts[0] === "executions" && parts[2] === "result") {
    return result(runtime, parts[1] ?? "", request, options);
  }
  if (method === "GET" && parts.length === 3 && parts[0] === "executions" && parts[2] === "logs") {
    const fail = (status: number, code: string, message: string, fields?: Record<string, string>) => new HttpError(status, code, message, fields);
    return { status: 200, body: await executionLogs(runtime, parts[1] ?? "", request.query.attempt, fail) };
  }
  if (method === "POST" && parts.length === 3 && parts[0] === "executions" && parts[2] === "cancel") {
    await known(runtime, parts[1] ?? "");
    await runtime.cancel(runtime.reference(parts[1] ?? ""));
    return { status: 202, body: await view(runtime, parts[1] ?? "", options) };
  }
  if (method === "POST" && parts.length === 3 && parts[0] === "executions" && parts[2] === "rerun") return rerunRoute(runtime, parts[1] ?? "", fail);
  if (method === "POST" && parts.length === 3 && parts[0] === "workflows" && parts[2] === "cancel") return bulkCancelRoute(runtime, parts[1] ?? "", request, fail);
  if (method === "POST" && parts.length === 3 && parts[0] === "executions" && parts[2] === "complete") {
    return completeRoute(runtime, parts[1] ?? "", request, options);
  }
  if (method === "POST" && parts.length === 2 && parts[0] === "callbacks") return callbackRoute(runtime, parts[1] ?? "", request, options);
  if (method === "GET" && parts.length === 1 && parts[0] === "runs") return runs(runtime, request);
  if (method === "GET" && parts.length === 1 && parts[0] === "workflows") return { status: 200, body: workflows() };
  if (method === "GET" && parts.length === 2 && parts[0] === "runs") return runRoute(runtime, parts[1] ?? "", request, options);
  const scheduled = await scheduleRoute(options.schedules, method, parts);
  if (scheduled !== undefined) return scheduled;
  throw new HttpError(404, ErrorCode.NotFound, `no route for ${method} ${request.path}`);
}

/**
 * `GET /workflows`: the names of the workflows this process has registered (those a start
 * can name), sorted; tasks are left out, as they cannot be started from outside.
 */
function workflows(): { workflows: { name: string }[] } {
  const names = definitionsList().filter((d) => d.kind === Kind.Workflow).map((d) => d.name);
  return { workflows: names.sort().map((name) => ({ name })) };
}

/** The path's segments, decoded; a malformed percent-encoding is the caller's error, not ours. */
function pathParts(path: string): string[] {
  try {
    return path.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new HttpError(
      400,
      ErrorCode.BadRequest,
      `the path ${JSON.stringify(path)} has a malformed percent-encoding; encode each id with encodeURIComponent (a "%" is "%25")`,
    );
  }
}

async function start(runtime: Runtime, name: string, request: HttpRequest, options: RoutesOptions): Promise<HttpResponse> {
  const max = options.maxBodyBytes ?? 1024 * 1024;
  const size = Buffer.byteLength(request.body ?? "");
  if (size > max) throw new HttpError(413, ErrorCode.PayloadTooLarge, `the request body is ${size} bytes, over the limit of ${max}`);
  let definition;
  try {
    definition = lookup(name);
  } catch {
    throw new HttpError(404, ErrorCode.UnknownTask, `no workflow is named "${name}"`);
  }
  if (definition.kind !== Kind.Workflow) throw new HttpError(404, ErrorCode.UnknownTask, `"${name}" is a task, not a workflow`);
  let json: unknown;
  try {
    json = request.body === undefined || request.body === "" ? {} : JSON.parse(request.body);
  } catch (error) {
    throw new HttpError(400, ErrorCode.BadJson, `the request body is not JSON: ${(error as Error).message}`);
  }
  const parsed = startSchema.safeParse(json);
  if (!parsed.success) throw invalid(parsed.error);
  const { startAt, delayMs } = parsed.data;
  if (startAt !== undefined && delayMs !== undefined) {
    throw new HttpError(400, ErrorCode.InvalidOption, "pass startAt or delayMs, not both", { startAt: "pass startAt or delayMs, not both" });
  }
  const delay: StartDelay | undefined = startAt !== undefined ? { startAt: new Date(startAt) } : delayMs !== undefined ? { delayMs } : undefined;
  const key = request.headers["idempotency-key"];
  const keyCheck = key === undefined ? undefined : idempotencyKey.safeParse(key);
  if (keyCheck !== undefined && !keyCheck.success) throw invalid(keyCheck.error, "Idempotency-Key");
  try {
    const execution =
      key === undefined
        ? runtime.submitWithin(undefined, definition, parsed.data.args, delay)
        : await runtime.submitKeyed(definition, parsed.data.args, { key, caller: request.caller }, delay);
    await execution.created;
    return { status: 202, body: { id: execution.id, statusUrl: `/executions/${encodeURIComponent(execution.id)}` } };
  } catch (error) {
    const code = errorCode(error);
    const message = (error as Error).message;
    if (code === ErrorCode.IdempotencyConflict) throw new HttpError(422, code, message);
    if (code === ErrorCode.PayloadTooLarge) throw new HttpError(413, code, message);
    // A start time in the past or too far ahead is refused by the engine, on its clock.
    if (code === ErrorCode.InvalidOption && startAt !== undefined && message.includes("cannot start at")) throw new HttpError(400, code, message, { startAt: message });
    if (error instanceof InvalidInputError) throw new HttpError(400, ErrorCode.InvalidInput, message, inputFields(error));
    if (code === ErrorCode.NotSerializable || code === ErrorCode.InvalidOption) throw new HttpError(400, code, message, { args: message });
    throw error;
  }
}

/**
 * The fields an `input` schema refused, by their path in the request body (`args.0.email`),
 * as the API names the fields of any bad request; two issues of one field are joined.
 */
function inputFields(error: InvalidInputError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const name = ["args", ...issue.path.map((key) => (typeof key === "symbol" ? key.toString() : String(key)))].join(".");
    fields[name] = fields[name] === undefined ? issue.message : `${fields[name]}; ${issue.message}`;
  }
  return fields;
}

/**
 * `POST /executions/{id}/complete` with `{ result }` or `{ error: { message, code? } }`:
 * 200 `{ id, state }`, 404 for an unknown id, 409 for a task's execution or one finished.
 */
async function completeRoute(runtime: Runtime, id: string, request: HttpRequest, options: RoutesOptions): Promise<HttpResponse> {
  const outcome = completionOf(request.body, options.maxBodyBytes ?? 1024 * 1024, (status, code, message, fields) => new HttpError(status, code, message, fields));
  const done = await runtime.complete(id, outcome);
  switch (done.status) {
    case "completed":
      return { status: 200, body: { id, state: done.record.state } };
    case "unknown":
      throw new HttpError(404, ErrorCode.UnknownExecution, `no execution has the id "${id}"`);
    case "not-external":
      throw new HttpError(409, ErrorCode.Conflict, `execution ${id} is ${done.record.state}, and a task's ("${done.record.taskName}"): only external executions are completed over the API`);
    case "finished":
      throw new HttpError(409, ErrorCode.Conflict, `external execution ${id} is ${done.record.state} already: a completion counts once, before its timeout`);
    default:
      throw new Error(`unknown completion ${JSON.stringify(done satisfies never)}`);
  }
}

/**
 * `POST /callbacks/{token}`, which needs no credentials: the token is the proof. A forged,
 * malformed, used or expired token gets the same 404, and changes nothing.
 */
async function callbackRoute(runtime: Runtime, token: string, request: HttpRequest, options: RoutesOptions): Promise<HttpResponse> {
  const id = verifyCallbackToken(await runtime.callbackKey(), token);
  if (id === undefined) throw noCallback();
  const outcome = completionOf(request.body, options.maxBodyBytes ?? 1024 * 1024, (status, code, message, fields) => new HttpError(status, code, message, fields));
  const done = await runtime.complete(id, outcome);
  if (done.status !== "completed") throw noCallback();
  return { status: 200, body: { id, state: done.record.state } };
}

function noCallback(): HttpError {
  return new HttpError(404, ErrorCode.NotFound, "no callback answers at this URL: it was used, it expired, or it was never given out");
}

async function result(runtime: Runtime, id: string, request: HttpRequest, options: RoutesOptions): Promise<HttpResponse> {
  const wait = waitSeconds.safeParse(request.query.waitSeconds ?? "0");
  if (!wait.success) throw invalid(wait.error, "waitSeconds");
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + wait.data * 1000;
  const followed = new Set<string>();
  for (let current = id; ; ) {
    const record = await known(runtime, current);
    // A forwarded result is the result of the execution it names; forwards that come back
    // to one already followed have none (409), and are not followed forever.
    if (isTerminal(record.state) && record.forward !== undefined) {
      followed.add(current);
      if (followed.has(record.forward)) {
        const cycle = forwardCycle([...followed, record.forward]);
        throw new HttpError(409, cycle.code, cycle.message);
      }
      current = record.forward;
      continue;
    }
    if (isTerminal(record.state) || Date.now() >= deadline) return { status: 200, body: await describe(runtime, record, options) };
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

/**
 * `GET /runs/{id}`, or with `?since=<cursor>` only what changed after the view that gave
 * the cursor (`partial: true`). The cursor is checked before anything is read.
 */
async function runRoute(runtime: Runtime, id: string, request: HttpRequest, options: RoutesOptions): Promise<HttpResponse> {
  const { since } = request.query;
  const after = since === undefined ? undefined : cursorTime(since);
  if (since !== undefined && after === undefined) {
    const message = badSince(since);
    throw new HttpError(400, ErrorCode.BadRequest, `invalid request: since: ${message}`, { since: message });
  }
  // Taken before the read: a change that lands during it is dated before the next cursor.
  const readAt = runtime.now();
  const run = await runtime.getRun(id);
  if (run === undefined) throw new HttpError(404, ErrorCode.UnknownRun, `no run has the id "${id}"`);
  const view = await runView(run, (payload) => runtime.engine.read(payload), { errorStacks: options.errorStacks, readAt, since: after });
  return { status: 200, body: runJson(view) };
}

const states: readonly string[] = Object.values(State);

/**
 * `GET /runs?workflow=&state=&limit=&cursor=`: runs newest first, filtered and paged by the
 * store. A full page comes with the cursor of the next one; a short page is the last.
 */
async function runs(runtime: Runtime, request: HttpRequest): Promise<HttpResponse> {
  const count = limit.safeParse(request.query.limit ?? "20");
  if (!count.success) throw invalid(count.error, "limit");
  const { workflow, state, cursor } = request.query;
  if (state !== undefined && !states.includes(state)) {
    const message = `state must be one of ${states.join(", ")}, got ${JSON.stringify(state)}`;
    throw new HttpError(400, "FLOE_BAD_REQUEST", `invalid request: state: ${message}`, { state: message });
  }
  const after = cursor === undefined ? undefined : positionOf(cursor);
  const roots = await runtime.listRuns({
    ...(workflow === undefined || workflow === "" ? {} : { taskName: workflow }),
    ...(state === undefined ? {} : { state: state as ExecutionState }),
    ...(after === undefined ? {} : { after }),
    limit: count.data,
  });
  const last = roots.length === count.data ? roots.at(-1) : undefined;
  return { status: 200, body: { runs: roots.map(summary), ...(last === undefined ? {} : { cursor: cursorOf(last) }) } };
}

/** The opaque cursor of the page after `record`: its position in the listing, base64url. */
function cursorOf(record: ExecutionRecord): string {
  return Buffer.from(JSON.stringify([record.createdAt, record.id])).toString("base64url");
}

/** The position a cursor of {@link cursorOf} holds; a 400 naming the fix for anything else. */
function positionOf(cursor: string): RunPosition {
  let position: unknown;
  try {
    position = /^[\w-]{1,2000}$/.test(cursor) ? JSON.parse(Buffer.from(cursor, "base64url").toString()) : undefined;
  } catch {
    position = undefined;
  }
  const [createdAt, id] = Array.isArray(position) && position.length === 2 ? (position as unknown[]) : [];
  if (!Number.isSafeInteger(createdAt) || (createdAt as number) < 0 || typeof id !== "string" || id === "") {
    const message = `cursor ${JSON.stringify(cursor.length > 60 ? `${cursor.slice(0, 60)}…` : cursor)} is not one this API gave out; pass the cursor of the previous page as it came, or leave it out for the first page`;
    throw new HttpError(400, "FLOE_BAD_REQUEST", `invalid request: cursor: ${message}`, { cursor: message });
  }
  return { createdAt: createdAt as number, id };
}

async function known(runtime: Runtime, id: string): Promise<ExecutionRecord> {
  const record = await runtime.getExecution(id);
  if (record === undefined) throw new HttpError(404, ErrorCode.UnknownExecution, `no execution has the id "${id}"`);
  return record;
}

async function view(runtime: Runtime, id: string, options: RoutesOptions): Promise<unknown> {
  return describe(runtime, await known(runtime, id), options);
}

async function describe(runtime: Runtime, record: ExecutionRecord, options: RoutesOptions): Promise<unknown> {
  return executionJson(await executionView(record, (payload) => runtime.engine.read(payload), options));
}

function invalid(error: z.core.$ZodError, field?: string): HttpError {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) fields[field ?? (issue.path.join(".") || "body")] = issue.message;
  const summaryText = Object.entries(fields)
    .map(([name, message]) => `${name}: ${message}`)
    .join("; ");
  return new HttpError(400, ErrorCode.BadRequest, `invalid request: ${summaryText}`, fields);
}
