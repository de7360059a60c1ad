/**
 * Reads the tasks a module defines, at synth time, the way a Lambda will load them: the
 * module is bundled with esbuild (as the functions are) together with floe's registry,
 * and run in a child Node process that prints the registry.
 *
 * Why not import it here: a construct's constructor is synchronous and cannot await an
 * ES module; a child process also gives each `Orchestrator` a registry of its own (two
 * orchestrators in one app see only their own tasks), lets the module use top-level
 * await, and proves at synth time that the bundled module loads.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ScheduleSpec } from "./schedules.ts";

/** What the construct needs to know of a task or workflow. */
export interface TaskSummary {
  readonly name: string;
  readonly kind: "task" | "workflow";
  /** The task's `timeoutMs` option, if it has one. */
  readonly timeoutMs?: number;
  /** A workflow's validated `schedule` option, if it has one. */
  readonly schedule?: ScheduleSpec;
}

// floe's files end as this one does: .js in the package, .ts in the repository's sources.
const extension = extname(fileURLToPath(import.meta.url));
const registryPath = join(dirname(fileURLToPath(import.meta.url)), "..", "sdk", "define", `registry${extension}`);

/**
 * esbuild, an optional peer dependency that a CDK app of floe's needs: loaded when a
 * construct is made (a constructor cannot await an import), so importing `floe/infra`
 * needs nothing more, and its absence is named with the fix.
 */
function esbuild(): typeof import("esbuild") {
  try {
    return createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw error;
    const fix = "npm install --save-dev esbuild";
    throw new Error(`floe's Orchestrator bundles the tasks module and the Lambda handlers with esbuild, which is not installed: ${fix}`, { cause: error });
  }
}

/**
 * Imports `tasksModule` in a fresh process and lists what it defines.
 *
 * @param tasksModule - absolute path of the module that defines the tasks
 * @returns the definitions, in the order they were made
 * @throws Error naming the module and carrying the child's error output when it fails to bundle or load
 */
export function readTaskDefinitions(tasksModule: string): TaskSummary[] {
  const script = [
    `import ${JSON.stringify(tasksModule)};`,
    `import { definitionsList } from ${JSON.stringify(registryPath)};`,
    "process.stdout.write(JSON.stringify(definitionsList().map((d) =>",
    "  ({ name: d.name, kind: d.kind, timeoutMs: d.options.timeoutMs, schedule: d.options.schedule }))));",
  ].join("\n");
  const { buildSync } = esbuild();
  const dir = mkdtempSync(join(tmpdir(), "floe-tasks-"));
  try {
    const out = join(dir, "read-tasks.mjs");
    let code: string;
    try {
      const result = buildSync({
        stdin: { contents: script, resolveDir: dirname(tasksModule), loader: "ts" },
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        write: false,
        logLevel: "silent",
        // Listing the tasks submits nothing: leave out the AWS adapters a connected function
        // loads on demand (and the AWS SDK with them), a second of bundling per synth.
        external: [`*/aws/aws-runtime${extension}`],
        // Some dependencies are CommonJS and call require(); give the ES module one.
        banner: { js: "import { createRequire as __floeRequire } from 'node:module'; const require = __floeRequire(import.meta.url);" },
      });
      code = result.outputFiles[0]?.text ?? "";
    } catch (error) {
      throw new Error(`floe could not bundle the tasks module ${tasksModule}: ${(error as Error).message}`, { cause: error });
    }
    writeFileSync(out, code);
    let stdout: string;
    try {
      stdout = execFileSync(process.execPath, [out], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } });
    } catch (error) {
      const stderr = ((error as { stderr?: string }).stderr ?? "").trim();
      throw new Error(`floe could not load the tasks module ${tasksModule}: ${stderr || (error as Error).message}`, { cause: error });
    }
    return JSON.parse(stdout) as TaskSummary[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
