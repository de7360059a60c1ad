/**
 * Values a task may throw that are hard to read (RELIABILITY T24), and how floe must report
 * each: the execution fails with a readable error whatever was thrown.
 */

/** The kinds of hard-to-read thrown values. */
export const hostileKinds = ["string", "undefined", "null", "plain-with-code", "all-getters-throw", "some-getters-throw", "tojson-tostring-throw", "proxy"] as const;
export type HostileKind = (typeof hostileKinds)[number];

/** A fresh value of `kind`, as a task would throw it. */
export function hostile(kind: HostileKind): unknown {
  switch (kind) {
    case "string":
      return "a plain string";
    case "undefined":
      return undefined;
    case "null":
      return null;
    case "plain-with-code":
      return { code: "E_PLAIN", message: "a plain object" };
    case "all-getters-throw":
      // stack first: defining another field on a live error may read its lazy stack.
      return throwingGetters(new Error("unseen"), ["stack", "message", "name", "cause", "code"]);
    case "some-getters-throw":
      return throwingGetters(Object.assign(new Error("half readable"), { code: "E_HALF" }), ["stack", "cause"]);
    case "tojson-tostring-throw":
      return {
        toJSON: () => {
          throw new Error("toJSON refuses");
        },
        toString: () => {
          throw new Error("toString refuses");
        },
      };
    case "proxy":
      // Every trap of the handler throws, getPrototypeOf and get included.
      return new Proxy({}, new Proxy({}, { get: () => () => { throw new Error("trap refuses"); } }));
    default:
      throw new Error(`unknown kind ${String(kind satisfies never)}`);
  }
}

/** How the failed execution's error must read for each kind. */
export const readAs: Readonly<Record<HostileKind, { readonly message: RegExp; readonly code?: string }>> = {
  string: { message: /^a plain string$/ },
  undefined: { message: /non-Error value was thrown: undefined/ },
  null: { message: /non-Error value was thrown: null/ },
  "plain-with-code": { message: /a plain object/, code: "E_PLAIN" },
  "all-getters-throw": { message: /could not read the thrown value's name, message, stack, code, cause/ },
  "some-getters-throw": { message: /^half readable \[floe could not read the thrown value's stack, cause/, code: "E_HALF" },
  "tojson-tostring-throw": { message: /cannot print/ },
  proxy: { message: /could not read the thrown value's prototype/ },
};

function throwingGetters(error: Error, keys: readonly string[]): Error {
  for (const key of keys) {
    Object.defineProperty(error, key, {
      get() {
        throw new Error(`reading ${key} refuses`);
      },
      enumerable: key === "code",
      configurable: true,
    });
  }
  return error;
}
