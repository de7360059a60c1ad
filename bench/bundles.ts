/**
 * `npm run bench:bundles`: bundles each handler as the Orchestrator does (the example
 * tasks in the worker and the API) and prints its size and the time a fresh Node process
 * takes to import it: the part of a cold start the bundle decides. Beside it, the worker
 * with `@aws-sdk/*` left external (as when relying on the runtime's copy of the SDK), for
 * comparison.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { Handler, entryFor, esbuildOptionsOf } from "../infra/bundling.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, ".bench", "bundles");
const tasksModule = join(root, "infra", "example-tasks.ts");
const runs = 7;

async function bundle(name: string, entry: string, external: string[] = []): Promise<string> {
  const outfile = join(out, name, "index.mjs");
  await build({ ...esbuildOptionsOf(), entryPoints: [entry], outfile, external, logLevel: "warning" });
  return outfile;
}

/** Median milliseconds to import `file` in a fresh process, and of the whole process. */
function importTime(file: string, flags: string[] = []): { importMs: number; processMs: number } {
  const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t));`;
  const imports: number[] = [];
  const processes: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    // The SDK's clients are only created on the first event; the variables satisfy nothing here.
    const stdout = execFileSync(process.execPath, [...flags, "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    processes.push(performance.now() - start);
    imports.push(Number(stdout));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { importMs: median(imports), processMs: median(processes) };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const rows: { name: string; file: string }[] = [];
for (const handler of Object.values(Handler)) rows.push({ name: handler, file: await bundle(handler, entryFor(handler, tasksModule, root)) });
rows.push({
  name: "worker, @aws-sdk/* external",
  file: await bundle("worker-sdk-external", entryFor(Handler.Worker, tasksModule, root), ["@aws-sdk/*"]),
});

console.log(`Node ${process.version}, median of ${runs} fresh processes; the Lambda runtime is nodejs22.x on arm64.\n`);
console.log("| handler | bundle | gzip | source map | import | import with --enable-source-maps | whole process |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const { name, file } of rows) {
  const code = readFileSync(file);
  const plain = importTime(file);
  const mapped = importTime(file, ["--enable-source-maps"]);
  console.log(
    `| ${name} | ${kb(code.length)} | ${kb(gzipSync(code).length)} | ${kb(statSync(`${file}.map`).size)} | ` +
      `${plain.importMs.toFixed(0)} ms | ${mapped.importMs.toFixed(0)} ms | ${plain.processMs.toFixed(0)} ms |`,
  );
}
console.log("\nThe external-SDK row loads the SDK from this project's node_modules, not from the runtime's copy.");
