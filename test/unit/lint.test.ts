import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

describe("the linter", () => {
  it("rejects a promise launched without await (T13)", async () => {
    const eslint = new ESLint({ ignore: false });
    const [result] = await eslint.lintFiles(["test/fixtures/floating-promise.ts"]);
    const rules = result?.messages.map((m) => m.ruleId);
    expect(rules).toContain("@typescript-eslint/no-floating-promises");
    expect(result?.messages.find((m) => m.ruleId === "@typescript-eslint/no-floating-promises")?.line).toBe(7);
  }, 60_000);
});
