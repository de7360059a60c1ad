/**
 * The codec's nesting limit. devalue's encoder and decoder recurse once per level, and so
 * do floe's own walks: a value nested a few thousand levels deep (an HTTP body is enough)
 * would overflow the stack, and where the stack ends depends on who is calling. A stated
 * limit, checked before encoding, refuses such a value with its path instead, and whatever
 * was encoded can always be decoded.
 */
import { ErrorCode, FloeError } from "../errors.ts";

/** The most levels of arrays, objects, maps, sets and error causes a value may nest. */
export const MAX_DEPTH = 500;

/**
 * Throws when `value` nests deeper than {@link MAX_DEPTH}, naming the path of the first
 * level past the limit. Walks what devalue walks: arrays, plain and null-prototype
 * objects, maps, sets and errors (their fields and cause); anything else is a leaf.
 *
 * @param value - the value about to be encoded
 * @param path - how the value is named in errors, e.g. `args`
 * @throws FloeError `FLOE_NOT_SERIALIZABLE`
 */
export function checkDepth(value: unknown, path: string): void {
  const keys: PathKey[] = [];
  if (!within(value, 0, new Set(), keys)) throw tooDeep(path, keys);
}

/**
 * A step of the path to a value: an array index, an object key, or a map's entry (its key
 * when that is a string). Kept raw: formatted only for an error, since the walk is on the
 * encoding's path.
 */
type PathKey = number | string | { readonly mapKey: unknown } | typeof inSet;
const inSet = Symbol("in a set");

/** False, with `keys` holding the path, when `item` nests past the limit. */
function within(item: unknown, depth: number, seen: Set<object>, keys: PathKey[]): boolean {
  if (typeof item !== "object" || item === null || seen.has(item) || !isContainer(item)) return true;
  if (depth >= MAX_DEPTH) return false;
  seen.add(item);
  const next = depth + 1;
  if (Array.isArray(item)) {
    for (let i = 0; i < item.length; i += 1) if (!within(item[i], next, seen, keys)) return outside(keys, i);
  } else if (item instanceof Map) {
    for (const [key, child] of item) {
      if (!within(key, next, seen, keys) || !within(child, next, seen, keys)) return outside(keys, { mapKey: key });
    }
  } else if (item instanceof Set) {
    for (const child of item) if (!within(child, next, seen, keys)) return outside(keys, inSet);
  } else {
    for (const key of Object.keys(item)) if (!within((item as Record<string, unknown>)[key], next, seen, keys)) return outside(keys, key);
    if (item instanceof Error && !within(item.cause, next, seen, keys)) return outside(keys, "cause");
  }
  return true;
}

/** Prepends `key` to the path of the value past the limit, as the walk unwinds. */
function outside(keys: PathKey[], key: PathKey): false {
  keys.unshift(key);
  return false;
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/** Whether devalue encodes what is inside `item` (a date, a typed array, an execution are leaves). */
function isContainer(item: object): boolean {
  if (Array.isArray(item) || item instanceof Map || item instanceof Set || item instanceof Error) return true;
  const proto: unknown = Object.getPrototypeOf(item);
  return proto === Object.prototype || proto === null;
}

/** The refusal of a value nested past the limit: its path, shortened, the limit and the fix. */
export function tooDeep(path: string, keys: readonly PathKey[]): FloeError {
  const steps = keys.map(formatKey);
  const shown = steps.length <= 8 ? steps.join("") : `${steps.slice(0, 6).join("")}…${steps.slice(-2).join("")}`;
  return new FloeError(
    ErrorCode.NotSerializable,
    `${path}${shown} is nested ${keys.length + 1} levels deep, past floe's limit of ${MAX_DEPTH} levels; ` +
      "flatten the value (a list of items rather than items nested inside each other) " +
      "or pass a reference to the data (an S3 key, say) instead of the data",
  );
}

function formatKey(key: PathKey): string {
  if (typeof key === "number") return `[${key}]`;
  if (typeof key === "string") return identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  if (key === inSet) return ".values()[…]";
  const { mapKey } = key;
  return `.get(${typeof mapKey === "string" ? JSON.stringify(mapKey) : "…"})`;
}

/** The refusal of a stored value too deep to decode (one not encoded by this codec). */
export function tooDeepToDecode(): FloeError {
  return new FloeError(
    ErrorCode.NotSerializable,
    `a stored value is nested too deep to decode (floe encodes values of at most ${MAX_DEPTH} levels); ` +
      "it was not written by this version of floe: submit the execution again",
  );
}
