/**
 * What a user installs is `dependencies` (and the CDK as peers): every package the shipped
 * code imports at run time must be one, or the command fails from an installed package
 * (`floe dev --local-cloud` did, importing a devDependency).
 */
import { readFileSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The packages a file imports at run time (type-only imports leave no trace in the output). */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1] ?? "");
  return specifiers
    .filter((s) => !s.startsWith(".") && !s.startsWith("node:") && !s.startsWith("#") && !builtinModules.includes(s))
    .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : (s.split("/")[0] ?? s)));
}

describe("the package's dependencies", () => {
  it("list every package that sdk/, functions/ and infra/ (but the example app) import at run time", () => {
    const own = new Set(["floe"]);
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
    const missing = new Map<string, string>();
    // The example app (infra/app.ts) is the repository's own, checked with cdk-nag; users write theirs.
    const shipped = ["sdk", "functions", "infra"].flatMap(sources).filter((f) => !f.endsWith(join("infra", "app.ts")));
    for (const file of shipped) {
      for (const name of importedPackages(file)) {
        if (!own.has(name) && !declared.has(name)) missing.set(name, file.slice(root.length + 1));
      }
    }
    expect(Object.fromEntries(missing)).toEqual({});
  });
});
