/**
 * What a user installs is `dependencies` (and the peers they choose): every package the
 * shipped code imports at run time must be one, or the command fails from an installed
 * package (`floe dev --local-cloud` did, importing a devDependency). An optional peer
 * (esbuild, tsx) is loaded only on demand, by code that names the fix when it is missing;
 * the CDK's, optional too, only by `floe/infra`, whose users install the CDK. The packages
 * the shipped types name must be installed too (`@types/…` for a package without types).
 */
import { readFileSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

interface Manifest {
  readonly dependencies: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;

/** How a file imports a package. */
type Use = "static" | "lazy" | "types";

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The package a specifier names, or undefined for a file, a built-in or an import map's name. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:") || specifier.startsWith("#")) return undefined;
  if (builtinModules.includes(specifier)) return undefined;
  return specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : (specifier.split("/")[0] ?? specifier);
}

/** The packages `text` imports, and how: type-only imports leave no trace in the compiled code but stay in its .d.ts. */
function importsOf(text: string): [string, Use][] {
  const found = (pattern: RegExp, use: Use) => [...text.matchAll(pattern)].map((m) => [m[1] ?? "", use] as [string, Use]);
  return [
    ...found(/^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm, "static"),
    ...found(/^\s*(?:import|export)\s+type\s[^"';]*?\sfrom\s+["']([^"']+)["']/gm, "types"),
    ...found(/\bimport\(\s*["']([^"']+)["']\s*\)/g, "lazy"),
    ...found(/\b(?:require|createRequire\([^)]*\))\(\s*["']([^"']+)["']\s*\)/g, "lazy"),
  ].flatMap(([specifier, use]) => {
    const name = packageOf(specifier);
    return name === undefined ? [] : [[name, use] as [string, Use]];
  });
}

/** Each rule a file of the package breaks, as "package: why". */
function problems(file: string, text: string, pkg: Manifest): string[] {
  const optional = (name: string) => pkg.peerDependenciesMeta?.[name]?.optional === true;
  const declared = (name: string) => name in pkg.dependencies || name in pkg.peerDependencies;
  // `floe/infra` is a CDK construct: whoever imports it has the CDK.
  const cdkInInfra = (name: string) => /(^|[/\\])infra[/\\]/.test(file) && (name === "aws-cdk-lib" || name === "constructs");
  return importsOf(text).flatMap(([name, use]) => {
    if (name === "floe") return [];
    if (use === "types") {
      return declared(name) || `@types/${name}` in pkg.dependencies ? [] : [`${name}: its types are named by the shipped .d.ts, but neither it nor @types/${name} is a dependency`];
    }
    if (!declared(name)) return [`${name}: imported at run time but not a dependency`];
    if (!optional(name) || cdkInInfra(name)) return [];
    if (use === "static") return [`${name}: an optional peer imported statically; import it on demand and name the fix when it is missing`];
    return text.includes(`npm install --save-dev ${name}`) ? [] : [`${name}: an optional peer loaded without naming the fix (npm install --save-dev ${name}) when it is missing`];
  });
}

describe("the package's dependencies", () => {
  it("list every package that sdk/, functions/ and infra/ (but the example app) import, optional peers only on demand", () => {
    // The example app (infra/app.ts, infra/example-tasks.ts) is the repository's own; users write
    // theirs. The dashboard's script is bundled at build time, its packages with it.
    const shipped = ["sdk", "functions", "infra"]
      .flatMap(sources)
      .filter((f) => !/infra[/\\](app|example-tasks)\.ts$/.test(f) && !f.includes(join("sdk", "dashboard")));
    const found = shipped.flatMap((file) => problems(file, readFileSync(file, "utf8"), manifest).map((p) => `${file.slice(root.length + 1)}: ${p}`));
    expect(found).toEqual([]);
  });

  it("finds a missing dependency, a static optional peer, one loaded without its fix, and types nobody installs", () => {
    const pkg: Manifest = {
      dependencies: { zod: "1" },
      peerDependencies: { esbuild: "1", "aws-cdk-lib": "2" },
      peerDependenciesMeta: { esbuild: { optional: true }, "aws-cdk-lib": { optional: true } },
    };
    expect(problems("sdk/a.ts", 'import { z } from "zod";\nimport left from "left-pad";', pkg)).toEqual(["left-pad: imported at run time but not a dependency"]);
    expect(problems("sdk/a.ts", 'import { build } from "esbuild";', pkg)).toEqual([
      "esbuild: an optional peer imported statically; import it on demand and name the fix when it is missing",
    ]);
    expect(problems("sdk/a.ts", 'const { build } = await import("esbuild");', pkg)).toHaveLength(1);
    expect(problems("sdk/a.ts", 'await import("esbuild").catch(() => fail("npm install --save-dev esbuild"));', pkg)).toEqual([]);
    expect(problems("infra/a.ts", 'const req = createRequire(import.meta.url)("left-pad");', pkg)).toEqual(["left-pad: imported at run time but not a dependency"]);
    expect(problems("infra/a.ts", 'import { Stack } from "aws-cdk-lib";', pkg)).toEqual([]);
    expect(problems("infra/a.ts", 'import { buildSync } from "esbuild";', pkg)).toHaveLength(1);
    expect(problems("sdk/a.ts", 'import { Stack } from "aws-cdk-lib";', pkg)).toHaveLength(1);
    expect(problems("sdk/a.ts", 'import type { SQSEvent } from "aws-lambda";', pkg)).toHaveLength(1);
    expect(problems("sdk/a.ts", 'import type { SQSEvent } from "aws-lambda";', { ...pkg, dependencies: { "@types/aws-lambda": "8" } })).toEqual([]);
  });
});
