import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REFERENCE_KEY, decode, decodeError, encode, encodeError, type ReferenceCodec } from "../../sdk/codec/codec.ts";
import { hostile, hostileKinds, readAs } from "../support/hostile-values.ts";
import { thrown } from "../support/thrown.ts";

const noRefs: ReferenceCodec = { idOf: () => undefined, revive: (id) => ({ id }) };

/** Stands for an execution: written by its own toJSON(), as floe's executions are. */
class Ref {
  constructor(readonly id: string) {}
  toJSON() {
    return { [REFERENCE_KEY]: this.id };
  }
}
const refs: ReferenceCodec = {
  idOf: (v) => (v instanceof Ref ? v.id : undefined),
  revive: (id) => new Ref(id),
};

function hasInvalidDate(value: unknown, seen = new Set<unknown>()): boolean {
  if (value instanceof Date) return Number.isNaN(value.getTime());
  if (typeof value !== "object" || value === null || seen.has(value)) return false;
  seen.add(value);
  const items = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  return items.some((item) => hasInvalidDate(item, seen));
}

describe("codec", () => {
  it("keeps repeated and cyclic references", () => {
    const shared = { n: 1 };
    const value: Record<string, unknown> = { a: shared, b: shared };
    value.self = value;
    const decoded = decode(encode(value, "args", noRefs).text, noRefs) as Record<string, unknown>;
    expect(decoded.a).toBe(decoded.b);
    expect(decoded.self).toBe(decoded);
  });

  it("collects each referenced execution once and revives it", () => {
    const ref = { executionId: "e1" };
    const refs: ReferenceCodec = {
      idOf: (v) => (v === ref ? "e1" : undefined),
      revive: (id) => ({ revived: id }),
    };
    const encoded = encode([ref, { nested: [ref] }], "args", refs);
    expect(encoded.refs).toEqual(["e1"]);
    expect(decode(encoded.text, refs)).toEqual([{ revived: "e1" }, { nested: [{ revived: "e1" }] }]);
  });

  it("keeps an error's name, message, stack, code, cause chain and own fields", () => {
    const error = Object.assign(new TypeError("outer", { cause: new Error("inner") }), { code: "E_OUTER", status: 503 });
    const decoded = decodeError(encodeError(error)) as TypeError & { code: string; status: number };
    expect(decoded).toBeInstanceOf(Error);
    expect(decoded.name).toBe("TypeError");
    expect(decoded.message).toBe("outer");
    expect(decoded.stack).toBe(error.stack);
    expect(decoded.code).toBe("E_OUTER");
    expect(decoded.status).toBe(503);
    expect((decoded.cause as Error).message).toBe("inner");
  });

  it("encodes a thrown non-error value as an error", () => {
    expect(decodeError(encodeError("plain string")).message).toBe("plain string");
    expect(decodeError(encodeError({ reason: 1 })).message).toContain('{"reason":1}');
  });

  it("still encodes an error whose fields cannot be serialised", () => {
    const error = Object.assign(new Error("with a socket"), { socket: { write() {} } });
    expect(decodeError(encodeError(error)).message).toBe("with a socket");
  });

  it("encodes anything thrown without throwing, keeping what can be read and naming what cannot (T24)", () => {
    for (const kind of hostileKinds) {
      const decoded = decodeError(encodeError(hostile(kind))) as Error & { code?: string };
      expect(decoded, kind).toBeInstanceOf(Error);
      expect(decoded.message, kind).toMatch(readAs[kind].message);
      expect(decoded.code, kind).toBe(readAs[kind].code);
    }
  });

  it("keeps the fields that encode and a readable copy of the cause when an error's getter throws", () => {
    const cause = Object.defineProperty(new Error("inner"), "code", { get: () => { throw new Error("no"); }, enumerable: true });
    const error = Object.assign(new Error("outer", { cause }), { status: 503, socket: { write() {} } });
    // V8 writes the stack on first read, from the name: read it before the name breaks.
    const stack = error.stack;
    Object.defineProperty(error, "name", { get: () => { throw new Error("no"); } });
    const decoded = decodeError(encodeError(error)) as Error & { status?: number; socket?: unknown };
    expect(decoded.message).toBe("outer [floe could not read the thrown value's name: reading threw]");
    expect(decoded.stack).toBe(stack);
    expect([decoded.status, decoded.socket]).toEqual([503, undefined]);
    expect((decoded.cause as Error).message).toBe("inner [floe could not read the thrown value's code: reading threw]");
  });

  it("names the path of a value it refuses, inside maps too", () => {
    expect(() => encode([new Map([["k", Symbol("s")]])], "args", noRefs)).toThrow(/args\[0\]\.get\("k"\) is a symbol/);
    expect(() => encode({ p: Promise.resolve(1) }, "result", noRefs)).toThrow(/result\.p is a Promise/);
  });

  it("encodes and decodes values nested up to 500 levels, in either form, and refuses one more level with its path, the limit and the fix (T14)", () => {
    const nest = (levels: number, leaf: unknown, wrap: (v: unknown) => unknown) => {
      let value = leaf;
      for (let i = 0; i < levels; i += 1) value = wrap(value);
      return value;
    };
    const forms: [string, unknown, (v: unknown) => unknown, RegExp][] = [
      ["plain JSON", 1, (v) => [v], /^args(\[0\]){6}…\[0\]\[0\] is nested 501 levels deep/],
      ["devalue", undefined, (v) => ({ "next item": v }), /^args\["next item"\]\["next item"\].*…\["next item"\]\["next item"\] is nested 501 levels deep/],
      ["maps", new Date(0), (v) => new Map([["k", v]]), /^args\.get\("k"\)\.get\("k"\).* is nested 501 levels deep/],
    ];
    for (const [form, leaf, wrap, path] of forms) {
      const limit = nest(500, leaf, wrap);
      expect(decode(encode(limit, "args", noRefs).text, noRefs), form).toStrictEqual(limit);
      for (const levels of [501, 5_000, 50_000]) {
        const error = thrown(() => encode(nest(levels, leaf, wrap), "args", noRefs));
        expect(error.code, form).toBe("FLOE_NOT_SERIALIZABLE");
        expect(error.message, form).toMatch(path);
        expect(error.message, form).toContain("past floe's limit of 500 levels; flatten the value");
      }
    }
  });

  it("refuses a decoded value nested past the limit with a clear error, not a stack overflow", () => {
    const deep = `R${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    expect(thrown(() => decode(deep, refs)).message).toMatch(/nested too deep to decode \(floe encodes values of at most 500 levels\)/);
  });

  it("refuses a __proto__ key and a symbol key, naming the key, its path and the fix (T14)", () => {
    const proto = thrown(() => encode([JSON.parse('{"user":{"__proto__":{"admin":true}}}')], "args", noRefs));
    expect(proto.code).toBe("FLOE_NOT_SERIALIZABLE");
    expect(proto.message).toBe(
      'args[0].user has a key named "__proto__" (args[0].user["__proto__"]), which floe refuses: decoded, it would replace ' +
        "the object's prototype instead of setting a field. Rename the key",
    );
    const symbol = thrown(() => encode({ tags: { [Symbol("tag")]: 1 } }, "result", noRefs));
    expect(symbol.code).toBe("FLOE_NOT_SERIALIZABLE");
    expect(symbol.message).toBe(
      "result.tags has a symbol key (result.tags[Symbol(tag)]), which floe cannot serialise: only string keys are kept. " +
        "Use a string key, or leave the field out",
    );
  });

  it("round-trips any value made of JSON, undefined, -0, NaN, dates, bigints, maps, sets and sparse arrays", () => {
    const value = fc.anything({
      // An own "__proto__" key is outside what devalue supports; floe refuses it at submit.
      key: fc.string().filter((k) => k !== "__proto__"),
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withSparseArray: true,
      withTypedArray: false,
      withBoxedValues: false,
      withObjectString: false,
    });
    fc.assert(
      fc.property(value, (v) => {
        const { text } = encode(v, "args", noRefs);
        const decoded = decode(text, noRefs);
        // Encoding what was decoded gives the same text: nothing the codec sees is lost.
        expect(encode(decoded, "args", noRefs).text).toBe(text);
        // An invalid Date inside a Set defeats deep equality itself, not the codec.
        if (!hasInvalidDate(v)) expect(decoded).toStrictEqual(v);
      }),
      { numRuns: 2000 },
    );
  });

  it("writes plain JSON in its fast form and everything else in devalue's", () => {
    expect(encode([1, "a", { b: [true, null] }], "args", noRefs).text).toBe('J[1,"a",{"b":[true,null]}]');
    expect(encode([undefined], "args", noRefs).text.startsWith("J")).toBe(false);
    expect(encode([-0], "args", noRefs).text.startsWith("J")).toBe(false);
    const shared = { n: 1 };
    expect(encode([shared, shared], "args", noRefs).text.startsWith("J")).toBe(false);
  });

  it("reads numbers and one-number lists exactly as JSON does, including ones read without a parse", () => {
    const numbers = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }));
    fc.assert(
      fc.property(numbers, (n) => {
        expect(decode(encode(n, "result", noRefs).text, noRefs)).toStrictEqual(n);
        expect(decode(encode([n], "args", noRefs).text, noRefs)).toStrictEqual([n]);
      }),
      { numRuns: 5000 },
    );
    for (const text of ["J01", "J-", "J[-]", "J[01]", "J[", "J]", "J1-2", "J[1]2]"]) {
      expect(() => decode(text, noRefs), text).toThrow(SyntaxError);
    }
  });

  it("writes executions inside plain JSON as references and revives them", () => {
    const encoded = encode([new Ref("a"), { list: [new Ref("b")] }], "args", refs);
    expect(encoded.text.startsWith("R")).toBe(true);
    expect(encoded.refs).toEqual(["a", "b"]);
    expect(decode(encoded.text, refs)).toEqual([new Ref("a"), { list: [new Ref("b")] }]);
  });

  it("lists an execution once when it is given as two handles, and keeps a repeated handle one object", () => {
    const twoHandles = encode([new Ref("a"), new Ref("b"), [new Ref("a")]], "args", refs);
    expect(twoHandles.refs).toEqual(["a", "b"]);
    expect(decode(twoHandles.text, refs)).toEqual([new Ref("a"), new Ref("b"), [new Ref("a")]]);
    const one = new Ref("c");
    const repeated = encode([one, one], "args", refs);
    expect(repeated.refs).toEqual(["c"]);
    const [first, second] = decode(repeated.text, refs) as Ref[];
    expect(first).toBeInstanceOf(Ref);
    expect(first).toBe(second);
  });

  it("keeps a user object that uses the reference key as data", () => {
    const value = [{ [REFERENCE_KEY]: "not an execution" }];
    const encoded = encode(value, "args", noRefs);
    expect(encoded.refs).toEqual([]);
    expect(decode(encoded.text, noRefs)).toEqual(value);
  });
});
