/**
 * The API: an API Gateway HTTP API (payload format 2.0) in front of the routes of DESIGN
 * section 4 (`sdk/http/routes.ts`), which `floe dev` serves too. This file only translates
 * the event (its authorizer's identity into the caller) and the response.
 */
import { gzipSync } from "node:zlib";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { handleRequest, type RoutesOptions } from "../sdk/http/routes.ts";
import type { Runtime } from "../sdk/runtime/runtime.ts";
import { Kind, lookup } from "../sdk/define/registry.ts";
import { ErrorCode, FloeError } from "../sdk/errors.ts";
import { startTick } from "../sdk/schedules/runner.ts";
import { SchedulerScheduleControl, parseWorkflowSchedules } from "../sdk/schedules/scheduler-control.ts";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { entryPoint } from "./environment.ts";

/** What the API needs: the runtime it starts and reads executions with. */
export interface ApiDeps {
  readonly runtime: Runtime;
  readonly routes?: RoutesOptions;
}

/**
 * What a workflow's Scheduler schedule sends (infra/schedules.ts): the workflow and the
 * tick's due time, `<aws.scheduler.scheduled-time>`.
 */
export interface ScheduledTickEvent {
  readonly floeScheduledTick: { readonly workflow: string; readonly scheduledAt: string };
}

/** Creates the API's handler over `deps` (tests pass their own). */
export function createApiHandler(
  deps: ApiDeps,
): (event: APIGatewayProxyEventV2 | ScheduledTickEvent) => Promise<APIGatewayProxyStructuredResultV2> {
  return async (event) => {
    if ("floeScheduledTick" in event) return startScheduledTick(deps.runtime, event.floeScheduledTick);
    const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
    const headers = Object.fromEntries(Object.entries(event.headers).map(([name, value]) => [name.toLowerCase(), value]));
    const response = await handleRequest(
      deps.runtime,
      { method: event.requestContext.http.method, path: event.rawPath, query: event.queryStringParameters ?? {}, headers, body, caller: callerOf(event) },
      deps.routes,
    );
    return apiResponse(response.status, response.body, headers["accept-encoding"]);
  };
}

/**
 * The most a Lambda response can hold (6 MB, a base64 body counted as sent), less room
 * for the headers and the envelope.
 */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 - 16 * 1024;
/** Smaller answers go as they are: compressing them saves less than it costs. */
const COMPRESS_ABOVE_BYTES = 32 * 1024;

/**
 * The function's answer for `body`: gzipped when it is large and the client accepts gzip
 * (browsers and `fetch` do), since API Gateway's HTTP APIs compress nothing and a whole
 * 10,000-execution run is several megabytes of JSON, over Lambda's limit uncompressed. An
 * answer still over the limit is replaced by an error that says so, instead of the bare
 * 502 Lambda would give.
 */
export function apiResponse(status: number, body: unknown, acceptEncoding: string | undefined): APIGatewayProxyStructuredResultV2 {
  const text = JSON.stringify(body);
  const bytes = Buffer.byteLength(text);
  const gzip = acceptsGzip(acceptEncoding);
  if (bytes > COMPRESS_ABOVE_BYTES && gzip) {
    const zipped = gzipSync(text).toString("base64");
    if (zipped.length <= MAX_RESPONSE_BYTES) {
      return { statusCode: status, headers: { "content-type": "application/json", "content-encoding": "gzip", vary: "accept-encoding" }, body: zipped, isBase64Encoded: true };
    }
  } else if (bytes <= MAX_RESPONSE_BYTES) {
    return { statusCode: status, headers: { "content-type": "application/json", ...(bytes > COMPRESS_ABOVE_BYTES ? { vary: "accept-encoding" } : {}) }, body: text };
  }
  const message =
    `the answer is ${bytes} bytes of JSON, over the ${MAX_RESPONSE_BYTES} a Lambda response can hold` +
    (gzip ? " even gzipped; read the run's executions one at a time (GET /executions/{id})" : "; send Accept-Encoding: gzip, which brings most answers under it");
  return {
    statusCode: 500,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ error: { code: ErrorCode.PayloadTooLarge, message } }),
  };
}

/** Whether an Accept-Encoding header accepts gzip (a `q=0` refuses it). */
function acceptsGzip(header: string | undefined): boolean {
  return (header ?? "").split(",").some((part) => {
    const [coding = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    if (coding !== "gzip" && coding !== "*") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * Starts a tick's run under the id the workflow and the tick derive: Scheduler delivers at
 * least once, and a second delivery finds the run the first started. A tick that names no
 * scheduled workflow or no time throws, so Scheduler retries it and then dead-letters it.
 */
async function startScheduledTick(runtime: Runtime, tick: ScheduledTickEvent["floeScheduledTick"]): Promise<APIGatewayProxyStructuredResultV2> {
  const definition = lookup(tick.workflow);
  const scheduledAt = new Date(tick.scheduledAt);
  if (definition.kind !== Kind.Workflow || definition.options.schedule === undefined || Number.isNaN(scheduledAt.getTime())) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `a scheduled tick must name a scheduled workflow and an ISO time, got ${JSON.stringify(tick)}; deploy the module that gives "${tick.workflow}" its schedule`,
    );
  }
  const execution = await startTick(runtime, definition, scheduledAt);
  return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ id: execution.id }) };
}

/** What payload 2.0 carries of the IAM and JWT authorizers (absent without one). */
interface Authorizer {
  readonly iam?: { readonly userArn?: unknown; readonly callerId?: unknown };
  readonly jwt?: { readonly claims?: Readonly<Record<string, unknown>> };
}

/**
 * The caller of a request, the scope of its idempotency keys: the IAM principal, or the
 * JWT's issuer and subject; `anonymous`, which no authenticated caller shares, without
 * either (behind the API's authorizer, never). The sessions of an assumed role share their
 * role's scope: they hold the same grants, and a retry from another instance of one
 * service (another session) must still find its key: `arn:aws:sts::1:assumed-role/orders/i-0123`
 * is `iam:arn:aws:sts::1:assumed-role/orders`.
 */
function callerOf(event: APIGatewayProxyEventV2): string {
  const { authorizer } = event.requestContext as { authorizer?: Authorizer };
  const arn = authorizer?.iam?.userArn ?? authorizer?.iam?.callerId;
  if (typeof arn === "string" && arn !== "") return `iam:${arn.replace(/^(arn:[^:]+:sts::\d+:assumed-role\/[^/]+)\/.*$/, "$1")}`;
  const claims = authorizer?.jwt?.claims;
  const subject = claims?.sub ?? claims?.client_id;
  if (typeof claims?.iss === "string" && typeof subject === "string") return `jwt:${JSON.stringify([claims.iss, subject])}`;
  return "anonymous";
}

/**
 * The schedule routes' control over Scheduler, when the construct names the workflows'
 * schedules (`FLOE_WORKFLOW_SCHEDULES`); without it, the routes answer 404, naming why.
 */
export function schedulesFromEnvironment(env: Record<string, string | undefined> = process.env, client?: SchedulerClient): RoutesOptions {
  const names = env.FLOE_WORKFLOW_SCHEDULES;
  if (names === undefined) return {};
  const find = (workflow: string) => {
    try {
      return lookup(workflow);
    } catch {
      return undefined;
    }
  };
  return { schedules: new SchedulerScheduleControl({ client: client ?? new SchedulerClient({}), schedules: parseWorkflowSchedules(names), lookup: find }) };
}

/** The Lambda entry point: the API over the runtime the environment describes. */
export const handler = entryPoint((runtime) => createApiHandler({ runtime, routes: schedulesFromEnvironment() }));
