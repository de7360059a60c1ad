/**
 * What the embedded engine itself costs per task. Every task is a no-op, so the time is
 * floe's own: ids, codec, records, queue, slots and context. A fan-out joined by one
 * `wait: true` task measures throughput (tasks/s); a 100-step chain of awaited calls
 * measures the latency of one hop (µs/step); the same work on plain promises and on
 * p-limit(64) is the floor; the heap delta after a 10,000 fan-out prices the history the
 * engine keeps. Baselines run first: once floe has used AsyncLocalStorage, Node 20 runs
 * promise hooks on every promise in the process, which would slow the baselines too.
 * Run with `npm run bench`: it bundles this file with esbuild, as floe's Lambda handlers
 * are bundled (a loader such as tsx wraps every closure to keep its name, which costs a
 * fifth of the time here), and runs it with --expose-gc for the memory figure.
 */
import os from "node:os";
import pLimit from "p-limit";
import { createEngine, task, workflow, type Execution, type Task } from "floe";

const FAN_OUTS = [1_000, 10_000];
const STEPS = 100;
const HIGH = 100_000; // the most createEngine allows: no task here ever waits for a slot
const LIMIT = 64;
const REPS = 7;
/**
 * Each measurement first runs its job for at least this long (and at least twice), so that
 * what is timed is the optimised code of a long-lived process, not V8 compiling it: a
 * 100-step chain takes about a millisecond, and two warm-up runs of it left the timed runs
 * of floe's chain still being compiled (4x slower than after 0.5 s of warm-up).
 */
const WARMUP_MS = 500;
const WARMUPS = 2;
const BASELINE_CHAINS = 1_000; // plain chains are too fast to time one at a time
const TARGET = { tasksPerSec: 100_000, usPerStep: 20 };
const REFERENCE = [
  { name: "BullMQ flows", tasksPerSec: 4_000, usPerStep: 500 },
  { name: "DBOS", tasksPerSec: 700, usPerStep: 2_000 },
  { name: "AWS durable-execution SDK, local runner", tasksPerSec: 3_800, usPerStep: 2_600 },
];

// ---- the work, in floe and as plain functions ----
const noop = task("bench_noop", async (i: number) => i);
const sumAll = task("bench_sum", { wait: true }, async (xs: Execution<number>[]) =>
  total(await Promise.all(xs.map((x) => x.result()))),
);
const fanOut = workflow("bench_fan_out", async (n: number) => sumAll.submit(range(n).map((i) => noop.submit(i))));
const inc = task("bench_inc", async (x: number) => x + 1);
const chain = workflow("bench_chain", async (steps: number) => {
  let x = 0;
  for (let i = 0; i < steps; i++) x = await inc(x);
  return x;
});

const noopFn = async (i: number): Promise<number> => i;
const incFn = async (x: number): Promise<number> => x + 1;
type Runner = <T>(fn: () => Promise<T>) => Promise<T>;
const direct: Runner = (fn) => fn();

async function plainFanOut(n: number, run: Runner): Promise<number> {
  return total(await Promise.all(range(n).map((i) => run(() => noopFn(i)))));
}

async function plainChains(count: number, run: Runner): Promise<number> {
  let x = 0;
  for (let c = 0; c < count; c++) {
    x = 0;
    for (let i = 0; i < STEPS; i++) x = await run(() => incFn(x));
  }
  return x;
}

// ---- measuring ----
/** One measured run: resolves to its elapsed milliseconds. */
type Job = () => Promise<number>;

async function timed(fn: () => Promise<unknown>, expected: number): Promise<number> {
  const start = performance.now();
  const value = await fn();
  const ms = performance.now() - start;
  if (value !== expected) throw new Error(`benchmark returned ${String(value)}, expected ${expected}`);
  return ms;
}

/** A floe job: a fresh engine, timed from submit to the final result, then closed. */
function floeJob<A extends unknown[]>(concurrency: number, target: Task<A, unknown>, args: A, expected: number): Job {
  return async () => {
    const engine = createEngine({ concurrency });
    try {
      return await timed(() => engine.submit(target, ...args).result(), expected);
    } finally {
      await engine.close();
    }
  };
}

async function medianMs(job: Job, reps = REPS): Promise<number> {
  const warmUntil = performance.now() + WARMUP_MS;
  for (let i = 0; i < WARMUPS || performance.now() < warmUntil; i++) await job();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await job());
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? NaN;
}

const tasksPerSec = (n: number, ms: number) => (n / ms) * 1000;
const usPerStep = (ms: number, chains = 1) => (ms * 1000) / (chains * STEPS);

interface FanOutRow { n: number; floeHigh: number; floe64: number; promiseAll: number; pLimit: number }
interface ChainRow { floe: number; plain: number; pLimit: number; plainAfterFloe: number }

async function measureBaselines(): Promise<{ fan: Map<number, [number, number]>; chain: [number, number] }> {
  const fan = new Map<number, [number, number]>();
  for (const n of FAN_OUTS) {
    const expected = (n * (n - 1)) / 2;
    const all = await medianMs(() => timed(() => plainFanOut(n, direct), expected));
    const limited = await medianMs(() => timed(() => plainFanOut(n, pLimit(LIMIT)), expected));
    fan.set(n, [tasksPerSec(n, all), tasksPerSec(n, limited)]);
  }
  const plain = await medianMs(() => timed(() => plainChains(BASELINE_CHAINS, direct), STEPS));
  const limited = await medianMs(() => timed(() => plainChains(BASELINE_CHAINS, pLimit(LIMIT)), STEPS));
  return { fan, chain: [usPerStep(plain, BASELINE_CHAINS), usPerStep(limited, BASELINE_CHAINS)] };
}

async function measureFloeFanOut(n: number): Promise<[number, number]> {
  const expected = (n * (n - 1)) / 2;
  const high = await medianMs(floeJob(HIGH, fanOut, [n], expected));
  const limited = await medianMs(floeJob(LIMIT, fanOut, [n], expected));
  return [tasksPerSec(n, high), tasksPerSec(n, limited)];
}

/** Heap kept by one engine after a 10,000 fan-out (every run's history is kept, by design). */
async function measureMemory(n: number): Promise<number | undefined> {
  const gc = globalThis.gc;
  if (gc === undefined) return undefined;
  const heapAfterGc = async () => {
    // Let queued callbacks run first: they may still hold a previous engine, or this one's in-flight work.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const before = await heapAfterGc();
  const engine = createEngine({ concurrency: HIGH });
  try {
    await timed(() => engine.submit(fanOut, n).result(), (n * (n - 1)) / 2);
    return (await heapAfterGc()) - before;
  } finally {
    await engine.close();
  }
}

// ---- printing ----
const fmt = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const row = (cells: string[], widths: number[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
/** Compares costs (time per task or per step): floe's against a baseline's. */
const versus = (floe: number, base: number, name: string) =>
  floe >= base ? `floe is ${fmt(floe / base, 1)}x slower than ${name}` : `floe is ${fmt(base / floe, 1)}x faster than ${name}`;
const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
const load = () => fmt(os.loadavg()[0] ?? NaN, 2);

function printFanOut(rows: FanOutRow[]): void {
  const w = [8, 14, 11, 13, 13];
  console.log("\nFAN-OUT of N no-op tasks joined by one wait:true task (tasks/s, higher is better)");
  console.log(row(["N", `floe c=${fmt(HIGH)}`, `floe c=${LIMIT}`, "Promise.all", `p-limit(${LIMIT})`], w));
  for (const r of rows) console.log(row([fmt(r.n), fmt(r.floeHigh), fmt(r.floe64), fmt(r.promiseAll), fmt(r.pLimit)], w));
  for (const r of rows) {
    const all = versus(1 / r.floeHigh, 1 / r.promiseAll, "Promise.all");
    const limited = versus(1 / r.floe64, 1 / r.pLimit, `p-limit(${LIMIT})`);
    console.log(`  N=${fmt(r.n)}: ${all} (c=${fmt(HIGH)}); ${limited} (c=${LIMIT})`);
  }
}

function printChain(c: ChainRow): void {
  const w = [46, 8];
  console.log(`\nCHAIN of ${STEPS} awaited steps (µs per step, lower is better)`);
  console.log(row([`floe c=${fmt(HIGH)}`, fmt(c.floe, 2)], w));
  console.log(`${row(["plain await", fmt(c.plain, 3)], w)}  ${versus(c.floe, c.plain, "plain await")}`);
  console.log(`${row([`p-limit(${LIMIT})`, fmt(c.pLimit, 3)], w)}  ${versus(c.floe, c.pLimit, `p-limit(${LIMIT})`)}`);
  console.log(row(["plain await again, after floe ran (ALS hooks)", fmt(c.plainAfterFloe, 3)], w));
}

function printMemory(n: number, bytes: number | undefined): void {
  console.log(`\nMEMORY kept after one ${fmt(n)} fan-out (the engine keeps every run's history)`);
  if (bytes === undefined) {
    console.log("  skipped: run with --expose-gc (npm run bench does)");
    return;
  }
  const executions = n + 2; // the tasks, the join and the workflow
  console.log(`  heap delta ${fmt(bytes / 2 ** 20, 1)} MiB = ${fmt(bytes / executions)} B per execution (${fmt(executions)})`);
}

function printTargets(fan: number, step: number): void {
  const n = fmt(FAN_OUTS.at(-1) ?? 0);
  console.log("\nTARGETS");
  console.log(`  ${n} fan-out >= ${fmt(TARGET.tasksPerSec)} tasks/s: ${fmt(fan)}  ${verdict(fan >= TARGET.tasksPerSec)}`);
  console.log(`  chain step <= ${TARGET.usPerStep} µs: ${fmt(step, 1)}  ${verdict(step <= TARGET.usPerStep)}`);
  console.log("\nREFERENCE, not run here (the same work, measured elsewhere)");
  for (const r of REFERENCE) {
    console.log(row([`  ${r.name}`, `~${fmt(r.tasksPerSec)} tasks/s`, `~${fmt(r.usPerStep / 1000, 1)} ms/step`], [42, 16, 14]));
  }
}

// ---- main ----
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function total(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const machine = `Node ${process.version}, ${os.cpus().length} CPUs`;
  console.log(`floe embedded engine: ${machine}, median of ${REPS} runs after at least ${WARMUP_MS} ms of warm-up`);
  console.log(`wall-clock times; load average ${load()} at start (other processes inflate them)`);
  const base = await measureBaselines();
  const rows: FanOutRow[] = [];
  for (const n of FAN_OUTS) {
    const [floeHigh, floe64] = await measureFloeFanOut(n);
    const [promiseAll, limited] = base.fan.get(n) ?? [NaN, NaN];
    rows.push({ n, floeHigh, floe64, promiseAll, pLimit: limited });
  }
  const floeChain = usPerStep(await medianMs(floeJob(HIGH, chain, [STEPS], STEPS), REPS * 2));
  const plainAfter = await medianMs(() => timed(() => plainChains(BASELINE_CHAINS, direct), STEPS));
  const n = FAN_OUTS.at(-1) ?? 0;
  const memory = await measureMemory(n);
  printFanOut(rows);
  const [plain, limited] = base.chain;
  printChain({ floe: floeChain, plain, pLimit: limited, plainAfterFloe: usPerStep(plainAfter, BASELINE_CHAINS) });
  printMemory(n, memory);
  printTargets(rows.at(-1)?.floeHigh ?? NaN, floeChain);
  console.log(`\nload average ${load()} at end`);
}

await main();
