/**
 * Encoding of arguments, results and errors. JSON plus Date, BigInt, Map, Set, typed
 * arrays, undefined, repeated and cyclic references (devalue), errors and execution
 * references. Anything else is refused with the path of the bad value.
 */
import { DevalueError, parse, stringify } from "devalue";
import { CancelledError, ErrorCode, FloeError, NonRetriableError, RetryAfterError, TimeoutError } from "../errors.ts";
import { MAX_DEPTH, checkDepth, tooDeepToDecode } from "./depth.ts";
import { readableError } from "./readable-error.ts";

/** An encoded value and the executions it references. */
export interface Encoded {
  readonly text: string;
  /** Ids of the executions found in the value, each once. */
  readonly refs: readonly string[];
}

/** How the codec recognises and revives execution references (defined by the runtime). */
export interface ReferenceCodec {
  /** The id of `value` when it is an execution reference, else `undefined`. */
  idOf(value: unknown): string | undefined;
  /** An execution reference for `id`. */
  revive(id: string): unknown;
}

interface ErrorShape {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: unknown;
  props?: Record<string, unknown>;
}

const standardErrorKeys = new Set(["name", "message", "stack", "code", "cause"]);

/**
 * Encodes `value`, collecting the execution references inside it.
 *
 * @param value - the value to encode
 * @param path - how the value is named in errors, e.g. `args` or `result`
 * @param references - recognises execution references
 * @returns the text and the referenced execution ids
 * @throws FloeError `FLOE_NOT_SERIALIZABLE`, naming the path of the bad value
 */
export function encode(value: unknown, path: string, references: ReferenceCodec): Encoded {
  // A scalar, the most common result, and a list of scalars, the most common arguments,
  // need no walk; a number, or a list of one, not even JSON.stringify (JSON writes a finite
  // number as its string form).
  if (typeof value === "number" && isJsonNumber(value)) return { text: JSON_MARK + value, refs: noRefs };
  if (Array.isArray(value) && value.length <= 8 && isScalarList(value)) {
    const only: unknown = value.length === 1 ? value[0] : undefined;
    return { text: typeof only === "number" ? `${JSON_MARK}[${only}]` : JSON_MARK + JSON.stringify(value), refs: noRefs };
  }
  if (isScalar(value)) return { text: JSON_MARK + JSON.stringify(value), refs: noRefs };
  let plain: boolean;
  let found: string[] | undefined;
  try {
    walking = references;
    plain = isPlainJson(value, 0);
    found = foundRefs;
  } finally {
    walking = undefined;
    firstObject = undefined;
    foundRefs = undefined;
    if (visited.size > 0) visited.clear();
    if (refIds.size > 0) refIds.clear();
  }
  if (plain && found === undefined) return { text: JSON_MARK + JSON.stringify(value), refs: noRefs };
  if (plain) return { text: REFS_MARK + JSON.stringify(value), refs: found ?? noRefs };
  // devalue recurses once per level: refuse what would overflow the stack here or when decoded.
  checkDepth(value, path);
  const refs: string[] = [];
  collecting = { refs, seen: new Set(), references };
  try {
    return { text: stringify(value, reducers), refs };
  } catch (error) {
    if (error instanceof DevalueError) throw refused(path + error.path, error);
    throw error;
  } finally {
    collecting = undefined;
  }
}

/**
 * Most arguments and results are plain JSON (ids, numbers, small records), sometimes with
 * executions in them: those are written as `J` + JSON, or `R` + JSON with each execution
 * as `{"$floe:execution": id}`, several times faster to encode and decode than devalue's
 * form, which never starts with either letter. Anything JSON would not round-trip exactly
 * (undefined, -0, NaN, sparse arrays, a repeated or cyclic reference, a null-prototype
 * object, a class instance, an object using the reference key) takes devalue.
 */
const JSON_MARK = "J";
const REFS_MARK = "R";
/** The key under which an execution reference is written in the JSON forms. */
export const REFERENCE_KEY = "$floe:execution";
const noRefs: readonly string[] = [];
// The state of the check in progress (`isPlainJson` is synchronous): the codec it
// recognises executions with, the executions found, and the objects met. Most values hold
// one object (an argument list of scalars), so the set is filled only from the second;
// the ids found are kept in a set only from the second, likewise.
let walking: ReferenceCodec | undefined;
let foundRefs: string[] | undefined;
let firstObject: object | undefined;
const visited = new Set<object>();
const refIds = new Set<string>();

/** A value JSON writes as itself (null, a string, a boolean or a finite number other than -0). */
function isScalar(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return isJsonNumber(value);
    default:
      return value === null;
  }
}

/** A number JSON writes as itself: finite, and not -0 (which JSON would write as 0). */
function isJsonNumber(value: number): boolean {
  return Number.isFinite(value) && !Object.is(value, -0);
}

/** Whether every element of a dense array is a scalar. */
function isScalarList(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i += 1) {
    if (!(i in list) || !isScalar(list[i])) return false;
  }
  return Object.getPrototypeOf(list) === Array.prototype;
}

/** False when `value` was met before in this check (a repeated or cyclic reference). */
function firstVisit(value: object): boolean {
  if (firstObject === undefined) {
    firstObject = value;
    return true;
  }
  if (value === firstObject || visited.has(value)) return false;
  visited.add(value);
  return true;
}

/** False when an execution of this id was met before in this check. */
function firstReference(id: string): boolean {
  const found = foundRefs;
  if (found === undefined) return true;
  if (found.length === 1 && refIds.size === 0) refIds.add(found[0] as string);
  if (refIds.has(id)) return false;
  refIds.add(id);
  return true;
}

/**
 * Whether `value` round-trips through JSON; executions inside are collected in `foundRefs`.
 * A value nested deeper than {@link MAX_DEPTH} is not: `checkDepth` then names its path.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return isScalar(value);
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    if (!firstVisit(value)) return false;
    for (let i = 0; i < value.length; i += 1) {
      if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype) {
    const id = walking?.idOf(value);
    // An execution is written by its own toJSON(), as the reference key and its id. One
    // met twice, as one handle or two, takes devalue's form, which keeps a repeated
    // handle one object; either way its id is listed once.
    if (id === undefined || typeof (value as { toJSON?: unknown }).toJSON !== "function" || !firstReference(id)) return false;
    (foundRefs ??= []).push(id);
    return true;
  }
  if (!firstVisit(value)) return false;
  for (const key in value) {
    if (key === "__proto__" || key === REFERENCE_KEY) return false;
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return Object.getOwnPropertySymbols(value).length === 0;
}

// One set of reducers for every call (encoding is on every task's hot path); `stringify`
// is synchronous, so the collector of the call in progress is simply module state.
let collecting: { refs: string[]; seen: Set<string>; references: ReferenceCodec } | undefined;
const reduceError = (v: unknown) => v instanceof Error && errorShape(v);
const reducers = {
  Execution: (v: unknown) => {
    if (collecting === undefined || typeof v !== "object" || v === null) return undefined;
    const id = collecting.references.idOf(v);
    // Two handles of one execution are two objects to devalue: list the id once.
    if (id !== undefined && !collecting.seen.has(id)) {
      collecting.seen.add(id);
      collecting.refs.push(id);
    }
    return id;
  },
  Error: reduceError,
};
const errorReducers = { Error: reduceError };

/**
 * Decodes what {@link encode} produced.
 *
 * @param text - the encoded text
 * @param references - turns execution ids back into references
 */
export function decode(text: string, references: ReferenceCodec): unknown {
  if (text.startsWith(JSON_MARK)) {
    // A whole number, or a list of one, is the commonest payload of all: read without a parse.
    const last = text.length - 1;
    if (text.charCodeAt(1) === LEFT_BRACKET && text.charCodeAt(last) === RIGHT_BRACKET) {
      const only = wholeNumber(text, 2, last);
      if (only !== undefined) return [only];
    } else {
      const only = wholeNumber(text, 1, text.length);
      if (only !== undefined) return only;
    }
    return JSON.parse(text.slice(1));
  }
  if (text.startsWith(REFS_MARK)) return reviveReferences(JSON.parse(text.slice(1)), references, 0);
  // Most payloads hold no reference and no error: skip building revivers for them.
  if (!text.includes('"Execution"') && !text.includes('"Error"')) return parseDevalue(text);
  return parseDevalue(text, {
    Execution: (id: string) => references.revive(id),
    Error: reviveError,
  });
}

/** devalue's `parse`, which recurses once per level: a stack overflow is a value too deep. */
function parseDevalue(text: string, revivers?: Parameters<typeof parse>[1]): unknown {
  try {
    return parse(text, revivers);
  } catch (error) {
    if (error instanceof RangeError && /call stack/.test(error.message)) throw tooDeepToDecode();
    throw error;
  }
}

const LEFT_BRACKET = 0x5b;
const RIGHT_BRACKET = 0x5d;
const ZERO = 0x30;
const MINUS = 0x2d;

/**
 * The whole number JSON writes as `text` from `start` to `end`, if that is one of at most
 * 15 digits (so that it is exact); `undefined` for anything else, which is left to
 * `JSON.parse`.
 */
function wholeNumber(text: string, start: number, end: number): number | undefined {
  const negative = text.charCodeAt(start) === MINUS;
  const first = negative ? start + 1 : start;
  if (end - first < 1 || end - first > 15) return undefined;
  // JSON writes no leading zero, and "-0" never reaches the plain-JSON form.
  if (text.charCodeAt(first) === ZERO && end - first > 1) return undefined;
  let value = 0;
  for (let i = first; i < end; i += 1) {
    const digit = text.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/**
 * Replaces each `{ "$floe:execution": id }` of a parsed "R" payload by its reference, in
 * place. A walk after parsing is several times faster than a `JSON.parse` reviver, which is
 * called for every value. `encode` keeps the fast path for values without `__proto__` or
 * reference-shaped keys of their own, so every such object here is a reference.
 */
function reviveReferences(value: unknown, references: ReferenceCodec, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) throw tooDeepToDecode();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) value[i] = reviveReferences(value[i], references, depth + 1);
    return value;
  }
  const object = value as Record<string, unknown>;
  const id = object[REFERENCE_KEY];
  if (typeof id === "string") return references.revive(id);
  for (const key in object) object[key] = reviveReferences(object[key], references, depth + 1);
  return object;
}

const displayReferences: ReferenceCodec = { idOf: () => undefined, revive: (id) => ({ execution: id }) };

/**
 * Decodes a stored payload's text for display (timelines, dashboards, the HTTP API):
 * execution references become `{ execution: id }`.
 *
 * @param text - a payload's text, as `ExecutionRecord.args.inline` holds it
 * @example
 * const args = decodeValue(record.args.inline) as unknown[];
 */
export function decodeValue(text: string): unknown {
  return decode(text, displayReferences);
}

/**
 * Encodes anything thrown. Never throws itself, or the failure being recorded would be lost
 * and its execution left running: what cannot be encoded as it is (a field the codec cannot
 * keep, a getter, `toJSON` or `toString` that throws, a Proxy) is encoded as a readable copy
 * that names what could not be read.
 */
export function encodeError(error: unknown): string {
  try {
    return stringify(error instanceof Error ? error : readableError(error, encodes), errorReducers);
  } catch {
    // Read field by field below.
  }
  try {
    return stringify(readableError(error, encodes), errorReducers);
  } catch {
    return unencodableError;
  }
}

/** Whether a field of an error can be kept as it is. */
function encodes(value: unknown): boolean {
  try {
    stringify(value, errorReducers);
    return true;
  } catch {
    return false;
  }
}

const unencodableError = stringify(new Error("floe could not encode what this task threw"), errorReducers);

/** Decodes what {@link encodeError} produced into an `Error`. */
export function decodeError(text: string): Error {
  const decoded = parse(text, errorRevivers);
  return decoded instanceof Error ? decoded : reviveError(decoded as ErrorShape);
}

const errorRevivers = { Error: reviveError };

function errorShape(error: Error): ErrorShape {
  const shape: ErrorShape = { name: error.name, message: error.message };
  if (error.stack !== undefined) shape.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") shape.code = code;
  if (error.cause !== undefined) shape.cause = error.cause;
  const props = Object.fromEntries(Object.entries(error).filter(([k]) => !standardErrorKeys.has(k)));
  if (Object.keys(props).length > 0) shape.props = props;
  return shape;
}

const floeErrorPrototypes: Record<string, object> = {
  [ErrorCode.NonRetriable]: NonRetriableError.prototype,
  [ErrorCode.RetryAfter]: RetryAfterError.prototype,
  [ErrorCode.Timeout]: TimeoutError.prototype,
  [ErrorCode.Cancelled]: CancelledError.prototype,
};

function reviveError(shape: ErrorShape): Error {
  const error = new Error(shape.message, shape.cause === undefined ? undefined : { cause: shape.cause });
  const proto = shape.code === undefined ? undefined : floeErrorPrototypes[shape.code];
  if (proto !== undefined) Object.setPrototypeOf(error, proto);
  Object.assign(error, shape.props);
  Object.defineProperty(error, "name", { value: shape.name, enumerable: false, writable: true, configurable: true });
  if (shape.code !== undefined) Object.assign(error, { code: shape.code });
  if (shape.stack !== undefined) error.stack = shape.stack;
  return error;
}

/** The refusal of what devalue could not encode: the path, what is wrong there and the fix. */
function refused(path: string, error: DevalueError): FloeError {
  const value: unknown = error.value;
  if (error.message.includes("__proto__")) {
    return new FloeError(
      ErrorCode.NotSerializable,
      `${path} has a key named "__proto__" (${path}["__proto__"]), which floe refuses: decoded, it would replace ` +
        "the object's prototype instead of setting a field. Rename the key",
    );
  }
  if (error.message.includes("symbolic keys")) {
    const [symbol] = Object.getOwnPropertySymbols(value);
    return new FloeError(
      ErrorCode.NotSerializable,
      `${path} has a symbol key (${path}[${String(symbol)}]), which floe cannot serialise: only string keys are kept. ` +
        "Use a string key, or leave the field out",
    );
  }
  return notSerializable(path, value);
}

function notSerializable(path: string, value: unknown): FloeError {
  return new FloeError(
    ErrorCode.NotSerializable,
    `${path} is ${describe(value)}, which floe cannot serialise. ` +
      "Pass plain data instead: JSON values, Date, BigInt, Map, Set, typed arrays, undefined, errors or executions " +
      "(for a class instance, pass its fields as a plain object).",
  );
}

function describe(value: unknown): string {
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  if (typeof value === "symbol") return `a symbol (${String(value)})`;
  if (value instanceof Promise) return "a Promise (await it, or submit a task and pass its execution)";
  if (typeof value === "object" && value !== null) {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name ? `an instance of ${name}` : "an object with a null prototype";
  }
  return `a ${typeof value}`;
}
