/**
 * A local stand-in for CloudWatch Logs: it keeps the lines each function writes in the
 * function's log group, as Lambda does, and answers `FilterLogEvents` over the JSON
 * protocol the real `CloudWatchLogsClient` sends (`X-Amz-Target:
 * Logs_20140328.FilterLogEvents`), so the local cloud's API reads task logs through the same
 * code as in AWS. It serves the one filter-pattern form floe uses, equality tests on JSON
 * fields joined by `&&` (`{ $.floe.executionId = "…" && $.floe.attempt = 2 }`), and refuses
 * any other clearly. Each group keeps its last {@link MAX_EVENTS_PER_GROUP} lines.
 */
import { ServiceError, startJsonEndpoint } from "./json-endpoint.ts";

/** The most lines a log group keeps; the oldest go first. */
export const MAX_EVENTS_PER_GROUP = 50_000;

/** One line in a group, as the service keeps it. */
interface StoredEvent {
  readonly timestamp: number;
  readonly message: string;
  readonly ingestionTime: number;
  readonly eventId: string;
  readonly logStreamName: string;
}

/** The settings of {@link startLogsEndpoint}. */
export interface LogsEndpointOptions {
  /**
   * Events per `FilterLogEvents` page at most, whatever `limit` asks (the service's is 10,000).
   * @default 10000
   */
  readonly pageSize?: number;
  /** The bound per group (tests lower it). @default MAX_EVENTS_PER_GROUP */
  readonly maxEventsPerGroup?: number;
  /** What time it is, for lines with no timestamp of their own. @default Date.now */
  readonly now?: () => number;
}

/** A running endpoint. */
export interface LogsEndpoint {
  /** For the client's `endpoint` (or `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`). */
  readonly url: string;
  /**
   * Adds a line a function wrote to its group, as Lambda does: a JSON line with an RFC 3339
   * `timestamp` is stamped with it (Lambda's JSON log format), any other line with now.
   */
  append(group: string, line: string, stream?: string): void;
  /** The lines a group holds now, oldest first. */
  lines(group: string): string[];
  close(): Promise<void>;
}

interface Equality {
  readonly path: readonly string[];
  readonly value: string | number;
}

/** Starts the endpoint on a free local port. */
export async function startLogsEndpoint(options: LogsEndpointOptions = {}): Promise<LogsEndpoint> {
  const groups = new Map<string, StoredEvent[]>();
  const now = options.now ?? Date.now;
  const max = options.maxEventsPerGroup ?? MAX_EVENTS_PER_GROUP;
  let sequence = 0;
  const endpoint = await startJsonEndpoint(
    "json-1.1",
    ({ target, body }) => {
      if (target !== "Logs_20140328.FilterLogEvents") {
        throw new ServiceError(400, "UnknownOperationException", `this local CloudWatch Logs serves only FilterLogEvents, not ${String(target)}`);
      }
      return filterLogEvents(groups, body, options.pageSize ?? 10_000);
    },
    "InvalidParameterException",
  );
  return {
    url: endpoint.url,
    append(group, line, stream = "local") {
      let events = groups.get(group);
      if (events === undefined) groups.set(group, (events = []));
      sequence += 1;
      events.push({ timestamp: timestampOf(line) ?? now(), message: line, ingestionTime: now(), eventId: String(sequence).padStart(20, "0"), logStreamName: stream });
      if (events.length > max) events.splice(0, events.length - max);
    },
    lines: (group) => (groups.get(group) ?? []).map((event) => event.message),
    close: () => endpoint.close(),
  };
}

function filterLogEvents(groups: Map<string, StoredEvent[]>, body: Record<string, unknown>, pageSize: number): unknown {
  const name = body.logGroupName ?? body.logGroupIdentifier;
  if (typeof name !== "string") throw new ServiceError(400, "InvalidParameterException", "logGroupName or logGroupIdentifier is required");
  const events = groups.get(name);
  if (events === undefined) throw new ServiceError(400, "ResourceNotFoundException", `The specified log group does not exist: ${name}`);
  const pattern = body.filterPattern;
  if (pattern !== undefined && typeof pattern !== "string") throw new ServiceError(400, "InvalidParameterException", "filterPattern must be a string");
  const tests = pattern === undefined || pattern === "" ? [] : parsePattern(pattern);
  const start = typeof body.startTime === "number" ? body.startTime : -Infinity;
  const end = typeof body.endTime === "number" ? body.endTime : Infinity;
  const limit = Math.min(typeof body.limit === "number" ? body.limit : 10_000, pageSize);
  // The token is the id of the last event returned: later appends do not shift it.
  const after = typeof body.nextToken === "string" ? body.nextToken : "";
  const matching = events.filter((e) => e.eventId > after && e.timestamp >= start && e.timestamp <= end && matches(e.message, tests));
  const page = matching.slice(0, limit);
  const last = page.at(-1);
  return {
    events: page.map((e) => ({ logStreamName: e.logStreamName, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: e.eventId })),
    searchedLogStreams: [],
    ...(matching.length > limit && last !== undefined ? { nextToken: last.eventId } : {}),
  };
}

const equality = /^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?))$/;

/**
 * The equality tests of a JSON filter pattern `{ $.a.b = "x" && $.c = 2 }`.
 * @throws ServiceError `InvalidParameterException` naming the forms served, for any other pattern
 */
export function parsePattern(pattern: string): Equality[] {
  const inner = /^\s*\{(.*)\}\s*$/s.exec(pattern)?.[1];
  const terms = inner?.split("&&").map((term) => equality.exec(term.trim()));
  if (terms === undefined || terms.some((term) => term === null)) {
    throw new ServiceError(
      400,
      "InvalidParameterException",
      `this local CloudWatch Logs serves only JSON equality patterns joined by &&, such as { $.floe.executionId = "abc" && $.floe.attempt = 2 }; got ${JSON.stringify(pattern)}`,
    );
  }
  return (terms as RegExpExecArray[]).map((term) => ({
    path: (term[1] ?? "").slice(1).split("."),
    value: term[2] !== undefined ? term[2].replace(/\\(.)/g, "$1") : Number(term[3]),
  }));
}

function matches(message: string, tests: readonly Equality[]): boolean {
  if (tests.length === 0) return true;
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return false;
  }
  return tests.every((test) => {
    let value: unknown = json;
    for (const key of test.path) value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    return value === test.value;
  });
}

function timestampOf(line: string): number | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const { timestamp } = JSON.parse(line) as { timestamp?: unknown };
    const at = typeof timestamp === "string" ? Date.parse(timestamp) : Number.NaN;
    return Number.isNaN(at) ? undefined : at;
  } catch {
    return undefined;
  }
}
