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
  const seen = new Set<object>();
  const keys: string[] = [];
  const walk = (item: unknown, depth: number): void => {
    if (typeof item !== "object" || item === null || seen.has(item) || !isContainer(item)) return;
    if (depth >= MAX_DEPTH) throw tooDeep(path, keys);
    seen.add(item);
    const step = (key: string, child: unknown): void => {
      keys.push(key);
      walk(child, depth + 1);
      keys.pop();
    };
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i += 1) step(`[${i}]`, item[i]);
    } else if (item instanceof Map) {
      for (const [key, child] of item) {
        step(".keys()[…]", key);
        step(`.get(${typeof key === "string" ? JSON.stringify(key) : "…"})`, child);
      }
    } else if (item instanceof Set) {
      for (const child of item) step(".values()[…]", child);
    } else {
      for (const key of Object.keys(item)) step(identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`, (item as Record<string, unknown>)[key]);
      if (item instanceof Error) step(".cause", item.cause);
    }
  };
  walk(value, 0);
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/** Whether devalue encodes what is inside `item` (a date, a typed array, an execution are leaves). */
function isContainer(item: object): boolean {
  if (Array.isArray(item) || item instanceof Map || item instanceof Set || item instanceof Error) return true;
  const proto: unknown = Object.getPrototypeOf(item);
  return proto === Object.prototype || proto === null;
}

/** The refusal of a value nested past the limit: its path, shortened, the limit and the fix. */
export function tooDeep(path: string, keys: readonly string[]): FloeError {
  const shown = keys.length <= 8 ? keys.join("") : `${keys.slice(0, 6).join("")}…${keys.slice(-2).join("")}`;
  return new FloeError(
    ErrorCode.NotSerializable,
    `${path}${shown} is nested ${keys.length + 1} levels deep, past floe's limit of ${MAX_DEPTH} levels; ` +
      "flatten the value (a list of items rather than items nested inside each other) " +
      "or pass a reference to the data (an S3 key, say) instead of the data",
  );
}

/** The refusal of a stored value too deep to decode (one not encoded by this codec). */
export function tooDeepToDecode(): FloeError {
  return new FloeError(
    ErrorCode.NotSerializable,
    `a stored value is nested too deep to decode (floe encodes values of at most ${MAX_DEPTH} levels); ` +
      "it was not written by this version of floe: submit the execution again",
  );
}
