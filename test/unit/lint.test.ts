import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
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

// Snippets linted as if they were a file of the folder; type-aware rules are off, since no
// such file exists for the type checker.
const eslint = new ESLint({ overrideConfig: tseslint.configs.disableTypeChecked });

async function importErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import "${source}";\n`, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("the layering rules", () => {
  it.each([
    ["sdk/engine/probe.ts", "node:crypto", "sdk/engine/ is pure: it imports no node: module"],
    ["sdk/engine/probe.ts", "fs", "sdk/engine/ is pure: it imports no node: module"],
    ["sdk/engine/probe.ts", "@aws-sdk/client-dynamodb", "sdk/engine/ imports no adapter and no AWS SDK"],
    ["sdk/engine/probe.ts", "../aws/contract.ts", "sdk/engine/ imports no adapter and no AWS SDK"],
    ["sdk/engine/probe.ts", "../embedded/memory-execution-store.ts", "sdk/engine/ imports no adapter and no AWS SDK"],
    ["sdk/engine/probe.ts", "#engines", "sdk/engine/ imports no adapter and no AWS SDK"],
    ["sdk/engine/probe.ts", "../runtime/runtime.ts", "sdk/engine/ imports no runtime code"],
    ["sdk/engine/probe.ts", "../define/registry.ts", "sdk/engine/ imports no runtime code"],
    ["sdk/engine/probe.ts", "../index.ts", "sdk/engine/ imports no runtime code"],
    ["functions/probe.ts", "../sdk/embedded/embedded-engine.ts", "functions/ never import the embedded engine"],
    ["functions/probe.ts", "floe", "functions/ never import the embedded engine"],
    ["functions/probe.ts", "../sdk/index.ts", "functions/ never import the embedded engine"],
    ["functions/probe.ts", "../sdk/api/default-engine.ts", "functions/ never import the embedded engine"],
    ["functions/probe.ts", "../sdk/cli/main.ts", "functions/ never import the CLI or the local cloud"],
    ["functions/probe.ts", "../sdk/local-cloud/index.ts", "functions/ never import the CLI or the local cloud"],
    ["sdk/aws/probe.ts", "../embedded/memory-execution-store.ts", "Adapters never import each other: sdk/aws/"],
    ["sdk/aws/probe.ts", "#engines", "Adapters never import each other: sdk/aws/"],
    ["sdk/embedded/probe.ts", "../aws/dynamodb-execution-store.ts", "Adapters never import each other: sdk/embedded/"],
    ["sdk/embedded/probe.ts", "@aws-sdk/client-s3", "Adapters never import each other: sdk/embedded/"],
    ["infra/probe.ts", "../functions/worker.ts", "infra/ refers to the handlers by path"],
    ["infra/probe.ts", "../sdk/aws/aws-runtime.ts", "infra/ refers to the handlers by path"],
    ["infra/probe.ts", "../sdk/aws/dynamodb-execution-store.ts", "infra/ refers to the handlers by path"],
    ["infra/probe.ts", "../sdk/runtime/runtime.ts", "infra/ refers to the handlers by path"],
  ])("%s may not import %s", async (file, source, rule) => {
    const errors = await importErrors(file, source);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(rule);
  }, 60_000);

  it.each([
    ["sdk/engine/probe.ts", "./model.ts"],
    ["sdk/engine/probe.ts", "../errors.ts"],
    ["functions/probe.ts", "../sdk/aws/aws-runtime.ts"],
    ["functions/probe.ts", "../sdk/runtime/runtime.ts"],
    ["sdk/aws/probe.ts", "../runtime/runtime.ts"],
    ["sdk/embedded/probe.ts", "../runtime/runtime.ts"],
    ["infra/probe.ts", "../sdk/aws/contract.ts"],
    ["infra/probe.ts", "aws-cdk-lib"],
  ])("%s may import %s", async (file, source) => {
    expect(await importErrors(file, source)).toEqual([]);
  }, 60_000);
});
