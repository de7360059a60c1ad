/**
 * One log line of a task, as floe keeps it, writes it and reads it back: its level,
 * message, fields and the tags of the attempt that wrote it. Fields are turned into plain
 * JSON here, once, so that a line is the same on every backend and never throws.
 */
import { Buffer } from "node:buffer";
import { LogLevel, type LogLineJson } from "./log-json.ts";

export { LogLevel, type LogLineJson, type ExecutionLogsJson } from "./log-json.ts";

/** Which attempt wrote a line: the tags of every line a task writes. */
export interface LogTags {
  readonly runId: string;
  readonly executionId: string;
  readonly task: string;
  readonly attempt: number;
}

/** A line written inside a task, tagged. */
export interface TaggedLine {
  /** When it was written, epoch milliseconds. */
  readonly at: number;
  readonly level: LogLevel;
  readonly message: string;
  /** Plain JSON (see {@link plainFields}). */
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly tags: LogTags;
}

/**
 * The longest message kept, in UTF-8 bytes; a longer one is cut and ends with `…`. Fields
 * whose JSON is longer are replaced by `{ "floe.truncated": <their size in bytes> }`. 8 KiB
 * each keeps a line well under CloudWatch's 256 KiB event limit.
 */
export const MAX_MESSAGE_BYTES = 8_192;
/** See {@link MAX_MESSAGE_BYTES}. */
export const MAX_FIELDS_BYTES = 8_192;
/** How deep fields are followed; deeper values become `"[Depth]"`. */
const MAX_DEPTH = 8;

/** `message` cut to {@link MAX_MESSAGE_BYTES}. */
export function boundedMessage(message: string): string {
  if (message.length <= MAX_MESSAGE_BYTES / 4 || Buffer.byteLength(message) <= MAX_MESSAGE_BYTES) return message;
  // Cut on a character boundary: decoding a cut buffer would leave half a character.
  let cut = Buffer.from(message).subarray(0, MAX_MESSAGE_BYTES - 3).toString("utf8");
  if (cut.endsWith("\uFFFD")) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * `fields` as plain JSON that never throws: cycles become `"[Circular]"`, BigInt its
 * decimal string, errors `{ name, message, code?, stack?, cause? }`, Map an object, Set an
 * array, Date its ISO string, functions `"[Function name]"`, symbols their description; a
 * `toJSON` or getter that throws becomes `"[Unserializable: <its message>]"`. Fields whose
 * JSON is over {@link MAX_FIELDS_BYTES} are replaced by their size.
 *
 * @returns the plain fields, or `undefined` when none were given
 */
export function plainFields(fields: unknown): Record<string, unknown> | undefined {
  if (fields === undefined || fields === null) return undefined;
  const plain = toPlain(fields, new Set(), 0);
  const object = typeof plain === "object" && plain !== null && !Array.isArray(plain) ? (plain as Record<string, unknown>) : { value: plain };
  const bytes = Buffer.byteLength(JSON.stringify(object));
  return bytes > MAX_FIELDS_BYTES ? { "floe.truncated": bytes } : object;
}

function toPlain(value: unknown, ancestors: Set<object>, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return value.toString();
    case "symbol":
      return value.description ?? "Symbol()";
    case "function":
      return `[Function ${value.name || "anonymous"}]`;
    case "undefined":
      return undefined;
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Depth]";
  ancestors.add(object);
  try {
    return plainObject(object, ancestors, depth + 1);
  } catch (error) {
    return `[Unserializable: ${messageOf(error)}]`;
  } finally {
    ancestors.delete(object);
  }
}

function plainObject(object: object, ancestors: Set<object>, depth: number): unknown {
  const child = (v: unknown) => toPlain(v, ancestors, depth);
  if (object instanceof Error) {
    const { code, cause } = object as Error & { code?: unknown };
    return dropUndefined({ name: object.name, message: object.message, code: child(code), stack: object.stack, cause: child(cause) });
  }
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
  if (Array.isArray(object)) return object.map((item) => child(item) ?? null);
  if (object instanceof Map) return Object.fromEntries([...object].map(([k, v]) => [String(k), child(v)]));
  if (object instanceof Set) return [...object].map((item) => child(item) ?? null);
  if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
  const withJson = object as { toJSON?: unknown };
  if (typeof withJson.toJSON === "function") return child((withJson.toJSON as () => unknown).call(object));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    const v = child((object as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function dropUndefined(object: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return object;
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unreadable error";
  }
}

/**
 * The JSON line a task writes to its function's stdout on AWS: what Lambda's JSON log
 * format keeps as it is (a JSON object with `level` and an RFC 3339 `timestamp`, so its
 * application log level filter applies), what CloudWatch Logs filter patterns select on
 * (`{ $.floe.executionId = "…" }`) and what {@link parseJsonLine} reads back.
 */
export function jsonLine(line: TaggedLine): string {
  return JSON.stringify({
    timestamp: new Date(line.at).toISOString(),
    level: line.level.toUpperCase(),
    message: line.message,
    ...(line.fields === undefined ? {} : { fields: line.fields }),
    floe: line.tags,
  });
}

/** A line of {@link jsonLine} read back; `undefined` for any other text. */
export function parseJsonLine(text: string): TaggedLine | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null) return undefined;
  const { timestamp, level, message, fields, floe } = json as Record<string, unknown>;
  const tags = floe as Partial<LogTags> | undefined;
  const lower = typeof level === "string" ? level.toLowerCase() : "";
  if (typeof timestamp !== "string" || typeof message !== "string" || !isLevel(lower)) return undefined;
  if (typeof tags?.executionId !== "string" || typeof tags.runId !== "string" || typeof tags.task !== "string" || typeof tags.attempt !== "number") return undefined;
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return undefined;
  const plain = typeof fields === "object" && fields !== null ? (fields as Record<string, unknown>) : undefined;
  return {
    at,
    level: lower,
    message,
    ...(plain === undefined ? {} : { fields: plain }),
    tags: { runId: tags.runId, executionId: tags.executionId, task: tags.task, attempt: tags.attempt },
  };
}

const levels: readonly string[] = Object.values(LogLevel);

function isLevel(value: string): value is LogLevel {
  return levels.includes(value);
}

/** A line as the API answers it. */
export function lineJson(line: TaggedLine): LogLineJson {
  return {
    at: new Date(line.at).toISOString(),
    level: line.level,
    message: line.message,
    ...(line.fields === undefined ? {} : { fields: line.fields }),
    attempt: line.tags.attempt,
  };
}
