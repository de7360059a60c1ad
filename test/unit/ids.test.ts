import { hash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cryptoIds } from "../../sdk/runtime/system.ts";

describe("derived ids", () => {
  it("are stable, 22 URL-safe characters, and never start with '-' (read as an option on a command line)", () => {
    // Find parts whose raw digest starts with "-": one in 64 does.
    let parts: string[] = [];
    for (let i = 0; ; i += 1) {
      parts = ["parent", "charge", `J[${i}]`, "1"];
      if (hash("sha256", parts.join("\u0000"), "base64url").startsWith("-")) break;
    }
    const id = cryptoIds.derive(parts);
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(cryptoIds.derive(parts)).toBe(id);
    expect(cryptoIds.derive(["parent", "charge", "J[0]", "2"])).not.toBe(cryptoIds.derive(["parent", "charge", "J[0]", "1"]));
  });
});
