/**
 * `npm run bench:pool`: a CPU-bound fan-out (64 tasks of about 20 ms of SHA-256 each) on
 * the embedded engine, first on the main thread, then on a worker pool of 1, 2, … up to
 * the core count threads, printing throughput and the speed-up over the main thread side
 * by side. Threads are started and warmed before each timing, as a long-lived engine's are.
 *
 * Options: `--tasks N` (64), `--task-ms N` (20), `--repeat N` (3, the best is kept).
 */
import { availableParallelism, cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createEngine } from "floe";
import { burn, burnAll } from "./pool-tasks.ts";

const { values } = parseArgs({ options: { tasks: { type: "string" }, "task-ms": { type: "string" }, repeat: { type: "string" } } });
const tasks = Number(values.tasks ?? 64);
const taskMs = Number(values["task-ms"] ?? 20);
const repeat = Number(values.repeat ?? 3);
const module = new URL("./pool-tasks.ts", import.meta.url);

/** The rounds one task needs to take about `taskMs` on this machine, measured on this thread. */
function calibrate(): number {
  burn(0, 2_000);
  const probe = 4_000;
  // The fastest of several probes: on a shared machine a slow one measured the neighbours.
  let fastest = Infinity;
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    burn(i, probe);
    fastest = Math.min(fastest, performance.now() - started);
  }
  return Math.max(100, Math.round((probe * taskMs) / fastest));
}

/** The best of `repeat` timings of the fan-out, in milliseconds. */
async function time(workers: number | undefined, rounds: number): Promise<{ ms: number; threads: number }> {
  await using engine = createEngine(workers === undefined ? { printLogs: false } : { printLogs: false, workers: { count: workers, module } });
  // Warm up: every thread started, the module loaded, the code compiled.
  await engine.submit(burnAll, Math.max(2, (workers ?? 1) * 2), 50).result();
  let best = { ms: Infinity, threads: 0 };
  for (let i = 0; i < repeat; i += 1) {
    const started = performance.now();
    const threads = await engine.submit(burnAll, tasks, rounds).result();
    const ms = performance.now() - started;
    if (ms < best.ms) best = { ms, threads };
  }
  return best;
}

const cores = availableParallelism();
const rounds = calibrate();
console.log(`Node ${process.version}, ${cores} cores (${cpus()[0]?.model ?? "unknown CPU"}); ${tasks} tasks of ${rounds} SHA-256 rounds (about ${taskMs} ms each), best of ${repeat}; load average ${loadavg()[0]!.toFixed(1)}`);
const rows: string[][] = [];
const main = await time(undefined, rounds);
rows.push(["main thread", "-", `${main.ms.toFixed(0)}`, `${((tasks * 1000) / main.ms).toFixed(1)}`, "1.00×"]);
for (let workers = 1; workers <= cores; workers += 1) {
  const pool = await time(workers, rounds);
  rows.push([`pool`, `${workers} (${pool.threads} used)`, `${pool.ms.toFixed(0)}`, `${((tasks * 1000) / pool.ms).toFixed(1)}`, `${(main.ms / pool.ms).toFixed(2)}×`]);
}
const header = ["runner", "threads", "wall ms", "tasks/s", "speed-up"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const row of [header, widths.map((w) => "-".repeat(w)), ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  "));
