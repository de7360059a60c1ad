/**
 * The package as a user gets it: `npm pack` (which builds dist/), the tarball installed into
 * a fresh project whose package.json is written here, then that project type-checked as a
 * strict NodeNext project with no special flags, its compiled program run with plain
 * `node`, and the installed `floe` command run on the embedded engine and the local cloud.
 * tsx and esbuild are optional peers: the project has neither at first (and a TypeScript
 * module gets the command to install), then installs tsx (esbuild with it).
 *
 * Dependencies come from the npm cache that `npm ci` filled (`--prefer-offline`).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outcomeOf, type Outcome } from "../support/child.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> };

/** The environment of a user's shell: none of the npm script's or the test runner's settings. */
const userEnvironment = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== "NODE_OPTIONS" && !name.startsWith("VITEST")),
);

function run(command: string, args: readonly string[], cwd: string): Promise<Outcome> {
  return outcomeOf(spawn(command, args, { cwd, env: userEnvironment, stdio: ["ignore", "pipe", "pipe"] }));
}

/** Runs and expects exit code 0, else fails with the command's output. */
async function succeed(command: string, args: readonly string[], cwd: string): Promise<Outcome> {
  const outcome = await run(command, args, cwd);
  if (outcome.code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${String(outcome.code)}:\n${outcome.stdout}\n${outcome.stderr}`);
  return outcome;
}

const files: Record<string, string> = {
  "tsconfig.json": JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      // Strictest: the package's own .d.ts must check too, and every type they name be installed.
      skipLibCheck: false,
      types: ["node"],
      rootDir: "src",
      outDir: "build",
    },
    include: ["src"],
  }),
  "src/workflows.ts": `
import { task, workflow } from "floe";

export const add = task("add", async (a: number, b: number) => a + b);

export const sum = workflow("sum", async (n: number) => {
  const parts = [1, 2, 3].map((i) => add.submit(i, n));
  let total = 0;
  for (const part of parts) total += await part.result();
  return total;
});
`,
  "src/main.ts": `
import { createEngine } from "floe";
import { sum } from "./workflows.js";

const engine = createEngine({ concurrency: 4 });
console.log(JSON.stringify({ total: await engine.submit(sum, 10).result() }));
await engine.close();
`,
  // A function of the user's own that starts runs on a deployed orchestrator.
  "src/handler.ts": `
import { sum } from "./workflows.js";

export const handler = async (event: { n: number }) => ({ id: sum.submit(event.n).id });
`,
  // The typed engine API: this file checks only once submit is typed by the task.
  "src/typed.ts": `
import { createEngine } from "floe";
import { add } from "./workflows.js";

const engine = createEngine();
export const total: number = await engine.submit(add, 1, 2).result();
// @ts-expect-error add takes numbers
engine.submit(add, "x", 2);
`,
  "load.cjs": `import("floe").then((floe) => console.log(JSON.stringify({ task: typeof floe.task, createEngine: typeof floe.createEngine })));\n`,
  "read-tasks.mjs": `
const { readTaskDefinitions } = await import("./node_modules/floe/dist/infra/task-definitions.js");
try {
  console.log(JSON.stringify(readTaskDefinitions(process.argv[2])));
} catch (error) {
  console.log(JSON.stringify({ error: error.message }));
}
`,
  // Bundled as the construct bundles its worker (the entry it generates) and a connected function.
  "bundle.mjs": `
import { build } from "esbuild";
import { resolve } from "node:path";
import { bundlingOptions } from "floe/infra";
const { entryFor } = await import("./node_modules/floe/dist/infra/bundling.js");

const result = await build({
  entryPoints: [entryFor("worker", resolve("build/workflows.js"), process.cwd()), "build/handler.js"],
  bundle: true, platform: "node", format: "esm", write: false, outdir: "out", metafile: true, logLevel: "silent",
  conditions: bundlingOptions.esbuildArgs["--conditions"].split(","), mainFields: bundlingOptions.mainFields,
  banner: { js: bundlingOptions.banner },
});
console.log(JSON.stringify(Object.keys(result.metafile.inputs).filter((path) => path.includes("node_modules/floe/"))));
`,
};

let work = "";
let app = "";
/** What `npm pack --json` says of a tarball. */
interface Packed {
  readonly filename: string;
  readonly size: number;
  readonly entryCount: number;
  readonly files: readonly { path: string }[];
}

let pack: Packed;
let install: Outcome;
let typeCheck: Promise<Outcome>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "floe-pack-"));
  app = join(work, "app");
  const { stdout } = await succeed("npm", ["pack", "--json", "--pack-destination", work], root);
  const [packed] = JSON.parse(stdout) as Packed[];
  if (packed === undefined) throw new Error(`npm pack described no tarball: ${stdout}`);
  pack = packed;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(app, path)), { recursive: true });
    writeFileSync(join(app, path), text);
  }
  const dependencies = { floe: `file:../${pack.filename}` };
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "floe-user-app", private: true, type: "module", dependencies, devDependencies: { "@types/node": manifest.devDependencies["@types/node"] } }));
  install = await succeed("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], app);
  // DynamoDB Local's jar, unpacked once per project: share the repository's, fetched by its own tests.
  const emulator = join(root, "node_modules", ".cache", "floe", "dynamodb-local");
  if (existsSync(emulator)) {
    mkdirSync(join(app, "node_modules", ".cache", "floe"), { recursive: true });
    symlinkSync(emulator, join(app, "node_modules", ".cache", "floe", "dynamodb-local"));
  }
  typeCheck = run(process.execPath, [tsc, "-p", app], app);
}, 300_000);

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

/** tsc's errors, by file. */
async function diagnostics(): Promise<Map<string, string[]>> {
  const { stdout } = await typeCheck;
  const byFile = new Map<string, string[]>();
  for (const line of stdout.split("\n").filter((l) => /^\S.*\(\d+,\d+\): error/.test(l))) {
    const file = line.slice(0, line.indexOf("("));
    byFile.set(file, [...(byFile.get(file) ?? []), line]);
  }
  return byFile;
}

describe("the npm package", () => {
  it("ships compiled modules with their types, and no sources, tests, benches or fixtures", () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths.filter((p) => !p.startsWith("dist/") && !["package.json", "README.md", "LICENSE"].includes(p))).toEqual([]);
    // One TypeScript file ships on purpose, empty of logic: a worker thread imports it to learn
    // whether it already loads TypeScript (`sdk/embedded/pool-worker.mjs`).
    const probe = "dist/sdk/embedded/pool-probe.ts";
    expect(paths).toContain(probe);
    expect(paths.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts") && p !== probe)).toEqual([]);
    for (const entry of ["dist/sdk/index.js", "dist/sdk/index.d.ts", "dist/sdk/local-cloud/index.d.ts", "dist/infra/index.d.ts", "dist/sdk/cli/floe.mjs", "dist/sdk/dashboard/app.js"]) {
      expect(paths).toContain(entry);
    }
    // Optional peers: a user who runs only .js modules installs neither, nor esbuild's install script.
    expect(existsSync(join(app, "node_modules", "esbuild"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "tsx"))).toBe(false);
    expect(install.stderr).not.toMatch(/install script/i);
  });

  it("names what to install for a TypeScript module without tsx, and for the construct without esbuild", async () => {
    const outcome = await run("npx", ["--no", "--", "floe", "run", "src/workflows.ts", "sum", "10"], app);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("npm install --save-dev tsx");
    const { stdout } = await succeed(process.execPath, ["read-tasks.mjs", join(app, "src", "workflows.ts")], app);
    expect(JSON.parse(stdout)).toEqual({ error: expect.stringContaining("npm install --save-dev esbuild") });
  }, 60_000);

  it("type-checks in a strict NodeNext project with no special flags", async () => {
    const errors = await diagnostics();
    errors.delete(join("src", "typed.ts"));
    expect([...errors.values()].flat()).toEqual([]);
  }, 120_000);

  it("types submit's arguments and result by the task", async () => {
    expect((await diagnostics()).get(join("src", "typed.ts")) ?? []).toEqual([]);
  }, 120_000);

  it("runs the compiled program with plain node, and loads from CommonJS with import()", async () => {
    await typeCheck;
    expect(JSON.parse((await succeed(process.execPath, ["build/main.js"], app)).stdout)).toEqual({ total: 36 });
    expect(JSON.parse((await succeed(process.execPath, ["load.cjs"], app)).stdout)).toEqual({ task: "function", createEngine: "function" });
  }, 120_000);

  it("runs a .js module with the installed floe command, on the embedded engine and on the local cloud", async () => {
    await typeCheck;
    expect((await succeed("npx", ["--no", "--", "floe", "--version"], app)).stdout.trim()).toBe(manifest.version);
    for (const engine of [[], ["--local-cloud"]]) {
      const { stdout } = await succeed("npx", ["--no", "--", "floe", "run", ...engine, "--json", "build/workflows.js", "sum", "10"], app);
      expect(JSON.parse(stdout)).toMatchObject({ workflow: "sum", state: "completed", result: 36 });
    }
  }, 120_000);

  describe("with tsx installed (and esbuild with it)", () => {
    beforeAll(async () => {
      await succeed("npm", ["install", "--save-dev", `tsx@${manifest.devDependencies.tsx}`, "--prefer-offline", "--no-audit", "--no-fund"], app);
      // The CDK, as a CDK app has it: the repository's copy, not a second download.
      for (const name of ["aws-cdk-lib", "constructs"]) symlinkSync(join(root, "node_modules", name), join(app, "node_modules", name));
    }, 120_000);

    it("runs a .ts module through tsx", async () => {
      const { stdout } = await succeed("npx", ["--no", "--", "floe", "run", "--json", "src/workflows.ts", "sum", "10"], app);
      expect(JSON.parse(stdout)).toMatchObject({ state: "completed", result: 36 });
    }, 60_000);

    it("reads a tasks module, and bundles the worker and a connected function without the embedded engine, from the installed construct", async () => {
      await typeCheck;
      const read = await succeed(process.execPath, ["read-tasks.mjs", join(app, "src", "workflows.ts")], app);
      expect(JSON.parse(read.stdout)).toEqual([
        { name: "add", kind: "task" },
        { name: "sum", kind: "workflow" },
      ]);
      const inputs = JSON.parse((await succeed(process.execPath, ["bundle.mjs"], app)).stdout) as string[];
      expect(inputs).toEqual(expect.arrayContaining(["node_modules/floe/dist/functions/worker.js", "node_modules/floe/dist/sdk/api/engines-aws.js"]));
      expect(inputs.filter((path) => path.includes("/embedded/"))).toEqual([]);
    }, 60_000);
  });
});
