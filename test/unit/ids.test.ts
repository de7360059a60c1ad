import { hash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sipHash128, sipKey } from "../../sdk/runtime/siphash.ts";
import { cryptoIds, keyedIds } from "../../sdk/runtime/system.ts";

const urlSafeId = /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/;

describe("derived ids", () => {
  it("are stable, 22 URL-safe characters, and never start with '-' (read as an option on a command line)", () => {
    // Find parts whose raw digest starts with "-": one in 64 does.
    let parts: string[] = [];
    for (let i = 0; ; i += 1) {
      parts = ["parent", "charge", `J[${i}]`, "1"];
      if (hash("sha256", parts.join("\u0000"), "base64url").startsWith("-")) break;
    }
    const id = cryptoIds.derive(parts);
    expect(id).toMatch(urlSafeId);
    expect(cryptoIds.derive(parts)).toBe(id);
    expect(cryptoIds.derive(["parent", "charge", "J[0]", "2"])).not.toBe(cryptoIds.derive(["parent", "charge", "J[0]", "1"]));
  });
});

describe("keyed ids (the embedded engine's)", () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i * 7);

  it("give the same parts the same id however calls interleave, and other parts other ids", () => {
    const ids = keyedIds(key);
    const a = ids.derive(["parent-a", "charge", "J[1]"]);
    const b = ids.derive(["parent-b", "charge", "J[1]"]);
    const c = ids.derive(["parent-a", "refund", "J[1]"]);
    // The same parts again, after other prefixes were derived in between.
    expect(ids.derive(["parent-a", "charge", "J[1]"])).toBe(a);
    expect(keyedIds(key).derive(["parent-b", "charge", "J[1]"])).toBe(b);
    expect(new Set([a, b, c, ids.derive(["parent-a", "charge", "J[2]"])]).size).toBe(4);
    // Where the parts split matters, not only their characters.
    expect(ids.derive(["parent-a", "chargeJ[1]", ""])).not.toBe(a);
  });

  it("are 22 URL-safe characters that never start with '-', for short and long arguments", () => {
    const ids = keyedIds(key);
    const made = new Set<string>();
    // 2,000 ids: without the rule about "-", about 31 would start with it.
    for (let i = 0; i < 1_000; i += 1) {
      for (const args of [`J[${i}]`, `J["${"x".repeat(80)}",${i}]`]) {
        const id = ids.derive(["parent", "charge", args]);
        expect(id).toMatch(urlSafeId);
        expect(ids.derive(["parent", "charge", args])).toBe(id);
        made.add(id);
      }
    }
    expect(made.size).toBe(2_000);
  });

  it("depend on the key, so another engine's ids cannot be predicted", () => {
    const parts = ["parent", "charge", "J[1]"];
    expect(keyedIds(key).derive(parts)).toBe(keyedIds(key).derive(parts));
    expect(keyedIds().derive(parts)).not.toBe(keyedIds(key).derive(parts));
    expect(keyedIds().derive(parts)).not.toBe(keyedIds().derive(parts));
  });
});

describe("SipHash-2-4, 128-bit tag", () => {
  // The reference implementation's vectors: key 00 01 .. 0f, message 00 01 .. (n - 1).
  const vectors: Record<number, string> = {
    0: "a3817f04ba25a8e66df67214c7550293",
    2: "8177228da4a45dc7fca38bdef60affe4",
    4: "f88164c12d9c8faf7d0f6e7c7bcd5579",
    6: "14eeca338b208613485ea0308fd7a15e",
    8: "3b62a9ba6258f5610f83e264f31497b4",
    10: "00110dc378146956c95447d3f3d0fbba",
    16: "6ee2a4ca67b054bbfd3315bf85230577",
    18: "a426e5e423bf4885294da481feaef723",
    62: "5853542321f567a005d547a4f04759bd",
  };

  it.each(Object.entries(vectors))("matches the reference for %s bytes", (bytes, expected) => {
    // A string's code units are read as little-endian byte pairs.
    let text = "";
    for (let i = 0; i < Number(bytes); i += 2) text += String.fromCharCode(i | ((i + 1) << 8));
    const out = new Uint32Array(4);
    sipHash128(sipKey(Uint8Array.from({ length: 16 }, (_, i) => i)), text, out);
    expect(Buffer.from(out.buffer).toString("hex")).toBe(expected);
  });

  it("refuses a key that is not 16 bytes", () => {
    expect(() => sipKey(new Uint8Array(8))).toThrow("a SipHash key is 16 bytes, not 8");
  });
});
