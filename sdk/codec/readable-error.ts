/**
 * A plain, readable copy of anything a task threw, for when the thrown value itself cannot
 * be encoded: a getter that throws, a `toJSON` or `toString` that throws, a Proxy whose
 * every trap throws. Reading it must never throw, or the failure being recorded would be
 * lost and its execution left running: each field is read on its own, and what could not
 * be read is named in the copy's message.
 */

/** How many causes deep a copy follows (a cause chain may be a cycle). */
const MAX_CAUSES = 8;

/**
 * A plain `Error` holding what can be read of `thrown`: name, message, stack, a string
 * `code`, the cause (copied the same way) and the own fields `keep` accepts.
 *
 * @param thrown - anything a task threw
 * @param keep - whether an own field's value can be kept as it is (it encodes)
 */
export function readableError(thrown: unknown, keep: (value: unknown) => boolean, depth = 0): Error {
  const unread: string[] = [];
  const read = (key: string): unknown => {
    try {
      return (thrown as Record<string, unknown>)[key];
    } catch {
      unread.push(key);
      return undefined;
    }
  };
  let isError = false;
  try {
    isError = thrown instanceof Error;
  } catch {
    unread.push("prototype");
  }
  const isObject = (typeof thrown === "object" && thrown !== null) || typeof thrown === "function";
  const name = isError ? text(read("name")) : undefined;
  const message = isError ? text(read("message")) : describeThrown(thrown);
  const stack = isError ? text(read("stack")) : undefined;
  const code = isObject ? text(read("code")) : undefined;
  const cause = isError ? read("cause") : undefined;
  const props = isObject ? ownFields(thrown, keep, unread) : undefined;
  const copy = new Error(noted(message, unread));
  if (cause !== undefined && depth < MAX_CAUSES) copy.cause = keep(cause) ? cause : readableError(cause, keep, depth + 1);
  if (props !== undefined) Object.assign(copy, props);
  Object.defineProperty(copy, "name", { value: name ?? "Error", enumerable: false, writable: true, configurable: true });
  if (code !== undefined) Object.assign(copy, { code });
  // Without a readable stack, the header alone: floe's own frames would mislead.
  copy.stack = stack ?? `${copy.name}: ${copy.message}`;
  return copy;
}

/**
 * What a thrown value that is not an `Error` says: a string as itself, anything else as
 * JSON or, failing that, as `String()` gives it.
 */
export function describeThrown(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    // undefined, a function and a symbol have no JSON form: their string form says more.
    const json = JSON.stringify(value) as string | undefined;
    if (json !== undefined) return `a non-Error value was thrown: ${json}`;
  } catch {
    // toJSON threw, or a cycle: fall back to the value's own string form.
  }
  try {
    return `a non-Error value was thrown: ${String(value)}`;
  } catch {
    return "a non-Error value was thrown, which floe cannot print (converting it to JSON and to a string both threw)";
  }
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The message, with a note of the fields that threw when read. */
function noted(message: string | undefined, unread: readonly string[]): string {
  if (unread.length === 0) return message ?? "";
  const note = `[floe could not read the thrown value's ${unread.join(", ")}: reading threw]`;
  return message === undefined || message === "" ? note : `${message} ${note}`;
}

const standardKeys = new Set(["name", "message", "stack", "code", "cause"]);

/** The own enumerable fields besides the standard ones that `keep` accepts. */
function ownFields(thrown: object, keep: (value: unknown) => boolean, unread: string[]): Record<string, unknown> | undefined {
  let keys: string[];
  try {
    keys = Object.keys(thrown);
  } catch {
    unread.push("own fields");
    return undefined;
  }
  let fields: Record<string, unknown> | undefined;
  for (const key of keys) {
    if (standardKeys.has(key) || key === "__proto__") continue;
    let value: unknown;
    try {
      value = (thrown as Record<string, unknown>)[key];
    } catch {
      unread.push(key);
      continue;
    }
    if (keep(value)) (fields ??= {})[key] = value;
  }
  return fields;
}
