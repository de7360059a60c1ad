/**
 * A local stand-in for EventBridge Scheduler: an HTTP server speaking the REST JSON protocol
 * the real `SchedulerClient` sends (`POST|GET|PUT|DELETE /schedules/{Name}?groupName=`), so
 * floe's wake-ups past SQS's 15 minutes and the API's pause and resume run through the
 * same code as in AWS. It keeps schedules in memory, answers `ConflictException`,
 * `ResourceNotFoundException` and `ValidationException` as the service does, and fires a
 * due one-time schedule (`at(…)`, read in UTC) by handing its target and `Input` to
 * `deliver` (the local cloud sends it to the SQS server), then deletes it when its
 * `ActionAfterCompletion` is `DELETE`. Due is read on the given clock, so a test that moves
 * its clock a month ahead sees a month's wake-ups fire at once. Recurring schedules
 * (`cron(…)`, `rate(…)`) are kept for pausing, never fired.
 */
import { ServiceError, startJsonEndpoint } from "./json-endpoint.ts";

/** A schedule as the service keeps it (the `CreateSchedule` input's fields). */
export interface StoredSchedule {
  readonly Name: string;
  readonly GroupName: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone?: string;
  readonly FlexibleTimeWindow: { readonly Mode: string; readonly MaximumWindowInMinutes?: number };
  readonly Target: { readonly Arn: string; readonly RoleArn: string; readonly Input?: string } & Record<string, unknown>;
  readonly State: "ENABLED" | "DISABLED";
  readonly ActionAfterCompletion?: string;
  readonly Description?: string;
  readonly StartDate?: number;
  readonly EndDate?: number;
  readonly CreationDate: number;
  readonly LastModificationDate: number;
}

/** The settings of {@link startSchedulerEndpoint}. */
export interface SchedulerEndpointOptions {
  /** Sends a fired schedule's `Input` to its target (an SQS queue's ARN); a rejection leaves the schedule to fire at the next poll, as Scheduler retries. */
  readonly deliver: (targetArn: string, input: string) => Promise<void>;
  /** What time it is: the local cloud's clock. @default Date.now */
  readonly now?: () => number;
  /** The schedule groups that exist besides `default`; a schedule in another is `ResourceNotFoundException`. */
  readonly groups?: readonly string[];
  /** How often due schedules are looked for, in real milliseconds. @default 100 */
  readonly pollMs?: number;
  readonly account?: string;
  readonly region?: string;
}

/** A running endpoint. */
export interface SchedulerEndpoint {
  /** For the client's `endpoint` (or `AWS_ENDPOINT_URL_SCHEDULER`). */
  readonly url: string;
  /** The schedules that exist now. */
  schedules(): StoredSchedule[];
  /** Schedules fired so far: what Scheduler bills as invocations. */
  readonly fired: () => number;
  /** Fires the due schedules now; resolves to how many fired. */
  fireDue(): Promise<number>;
  close(): Promise<void>;
}

const namePattern = /^[0-9a-zA-Z-_.]{1,64}$/;
const atPattern = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/;

/** Starts the endpoint on a free local port, and its poll for due schedules. */
export async function startSchedulerEndpoint(options: SchedulerEndpointOptions): Promise<SchedulerEndpoint> {
  const now = options.now ?? Date.now;
  const groups = new Set(["default", ...(options.groups ?? [])]);
  const account = options.account ?? "000000000000";
  const region = options.region ?? "us-east-1";
  const stored = new Map<string, StoredSchedule>();
  const inFlight = new Set<string>();
  let fired = 0;
  const arnOf = (group: string, name: string) => `arn:aws:scheduler:${region}:${account}:schedule/${group}/${name}`;

  const handle = (method: string, name: string | undefined, group: string, body: Record<string, unknown>): unknown => {
    if (name === undefined) throw new ServiceError(400, "ValidationException", `the local Scheduler serves /schedules/{Name} only, not a listing (${method} /schedules)`);
    if (!namePattern.test(name)) throw new ServiceError(400, "ValidationException", `Name ${JSON.stringify(name)} must be 1 to 64 of [0-9a-zA-Z-_.]`);
    const key = `${group}/${name}`;
    const existing = stored.get(key);
    const missing = () => new ServiceError(404, "ResourceNotFoundException", `Schedule ${name} does not exist in group ${group}.`);
    switch (method) {
      case "POST":
      case "PUT": {
        if (!groups.has(group)) throw new ServiceError(404, "ResourceNotFoundException", `Schedule group ${group} does not exist.`);
        if (method === "POST" && existing !== undefined) throw new ServiceError(409, "ConflictException", `Schedule ${name} already exists.`);
        if (method === "PUT" && existing === undefined) throw missing();
        const at = now() / 1000;
        const schedule = validated(name, group, body, existing?.CreationDate ?? at, at);
        stored.set(key, schedule);
        return { ScheduleArn: arnOf(group, name) };
      }
      case "GET":
        if (existing === undefined) throw missing();
        return { Arn: arnOf(group, name), ...existing };
      case "DELETE":
        if (existing === undefined) throw missing();
        stored.delete(key);
        return {};
      default:
        throw new ServiceError(400, "ValidationException", `method ${method} is not a Scheduler operation`);
    }
  };

  const endpoint = await startJsonEndpoint("rest-json", ({ method, url, body }) => {
    const match = /^\/schedules(?:\/([^/]+))?$/.exec(url.pathname);
    if (match === null) throw new ServiceError(404, "ResourceNotFoundException", `no Scheduler operation at ${url.pathname}`);
    const name = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    const group = url.searchParams.get("groupName") ?? (typeof body.GroupName === "string" ? body.GroupName : "default");
    return handle(method, name, group, body);
  });

  const fireDue = async (): Promise<number> => {
    const due = [...stored.entries()].filter(([key, s]) => !inFlight.has(key) && s.State === "ENABLED" && (dueAt(s) ?? Infinity) <= now());
    const results = await Promise.all(
      due.map(async ([key, schedule]) => {
        inFlight.add(key);
        try {
          await options.deliver(schedule.Target.Arn, schedule.Target.Input ?? "{}");
          fired += 1;
          // A one-time schedule fires once: kept (and never fired again) unless it deletes itself.
          if (schedule.ActionAfterCompletion === "DELETE") stored.delete(key);
          else stored.set(key, { ...schedule, State: "DISABLED" });
          return 1;
        } catch {
          return 0;
        } finally {
          inFlight.delete(key);
        }
      }),
    );
    return results.reduce<number>((a, b) => a + b, 0);
  };
  const timer = setInterval(() => void fireDue(), options.pollMs ?? 100);
  timer.unref();

  return {
    url: endpoint.url,
    schedules: () => [...stored.values()],
    fired: () => fired,
    fireDue,
    close: () => {
      clearInterval(timer);
      return endpoint.close();
    },
  };
}

/** When a one-time schedule is due, epoch milliseconds; `undefined` for a recurring one. */
function dueAt(schedule: StoredSchedule): number | undefined {
  const at = atPattern.exec(schedule.ScheduleExpression);
  return at === null ? undefined : Date.parse(`${at[1]}Z`);
}

/** The schedule a `CreateSchedule` or `UpdateSchedule` body describes, checked as the service checks it. */
function validated(name: string, group: string, body: Record<string, unknown>, created: number, modified: number): StoredSchedule {
  const expression = body.ScheduleExpression;
  if (typeof expression !== "string" || !/^(at|cron|rate)\(.+\)$/.test(expression)) {
    throw new ServiceError(400, "ValidationException", `ScheduleExpression must be at(…), cron(…) or rate(…), got ${JSON.stringify(expression)}`);
  }
  const timezone = body.ScheduleExpressionTimezone as string | undefined;
  if (atPattern.test(expression) && timezone !== undefined && timezone !== "UTC") {
    throw new ServiceError(400, "ValidationException", `the local Scheduler reads at() in UTC only, got ScheduleExpressionTimezone ${timezone}`);
  }
  if (expression.startsWith("at(") && !atPattern.test(expression)) {
    throw new ServiceError(400, "ValidationException", `an at() expression is at(yyyy-mm-ddThh:mm:ss), got ${expression}`);
  }
  const window = body.FlexibleTimeWindow as StoredSchedule["FlexibleTimeWindow"] | undefined;
  if (window === undefined || (window.Mode !== "OFF" && window.Mode !== "FLEXIBLE")) {
    throw new ServiceError(400, "ValidationException", "FlexibleTimeWindow with a Mode of OFF or FLEXIBLE is required");
  }
  const target = body.Target as StoredSchedule["Target"] | undefined;
  if (target === undefined || typeof target.Arn !== "string" || typeof target.RoleArn !== "string") {
    throw new ServiceError(400, "ValidationException", "Target with an Arn and a RoleArn is required");
  }
  const state = body.State ?? "ENABLED";
  if (state !== "ENABLED" && state !== "DISABLED") throw new ServiceError(400, "ValidationException", `State must be ENABLED or DISABLED, got ${JSON.stringify(state)}`);
  const action = body.ActionAfterCompletion as string | undefined;
  if (action !== undefined && action !== "NONE" && action !== "DELETE") {
    throw new ServiceError(400, "ValidationException", `ActionAfterCompletion must be NONE or DELETE, got ${action}`);
  }
  return {
    Name: name,
    GroupName: group,
    ScheduleExpression: expression,
    ...(timezone === undefined ? {} : { ScheduleExpressionTimezone: timezone }),
    FlexibleTimeWindow: window,
    Target: target,
    State: state,
    ...(action === undefined ? {} : { ActionAfterCompletion: action }),
    ...(typeof body.Description === "string" ? { Description: body.Description } : {}),
    ...(typeof body.StartDate === "number" ? { StartDate: body.StartDate } : {}),
    ...(typeof body.EndDate === "number" ? { EndDate: body.EndDate } : {}),
    CreationDate: created,
    LastModificationDate: modified,
  };
}
