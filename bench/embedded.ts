/**
 * What the embedded engine itself costs per task. Every task is a no-op, so the time is
 * floe's own: ids, codec, records, queue, slots and context. A fan-out joined by one
 * `wait: true` task measures throughput (tasks/s); a 100-step chain of awaited calls
 * measures the latency of one hop (µs/step); the same work on plain promises and on
 * p-limit(64) is the floor; the heap delta after a 10,000 fan-out prices the history the
 * engine keeps.
 *
 * floe runs in a worker thread of this process, the baselines on the main thread, taking
 * turns run by run. Turns, because this host's speed drifts by up to 2x within a minute:
 * each floe run is compared with the baseline runs just before it, and the median of those
 * ratios holds still while the raw figures move. A thread of its own, because once floe has
 * used AsyncLocalStorage, Node 20 runs promise hooks on every promise of that thread, which
 * would slow the baselines too.
 *
 * Run with `npm run bench`: it bundles this file with esbuild, as floe's Lambda handlers
 * are bundled (a loader such as tsx wraps every closure to keep its name, which costs a
 * fifth of the time here), and runs it with --expose-gc for the memory figure.
 */
import os from "node:os";
import { Worker, isMainThread, parentPort } from "node:worker_threads";
import pLimit from "p-limit";
import { createEngine, task, workflow, type Execution, type Task } from "floe";

const FAN_OUTS = [1_000, 10_000];
const STEPS = 100;
const HIGH = 100_000; // the most createEngine allows: no task here ever waits for a slot
const LIMIT = 64;
const REPS = 7;
/**
 * Each job first runs for at least this long (and at least twice), so that what is timed is
 * the optimised code of a long-lived process, not V8 compiling it: a 100-step chain takes
 * about a millisecond, and two warm-up runs of it left the timed runs of floe's chain still
 * being compiled (4x slower than after 0.5 s of warm-up).
 */
const WARMUP_MS = 500;
const WARMUPS = 2;
const BASELINE_CHAINS = 1_000; // plain chains are too fast to time one at a time
const TARGET = { tasksPerSec: 100_000, usPerStep: 20 };
/** p-limit(64) on the 10,000 fan-out when the targets were set, on this kind of machine. */
const REFERENCE_PLIMIT = 336_000;
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

// ---- jobs: one timed run each, resolving to its elapsed milliseconds ----
type Job = () => Promise<number>;

async function timed(fn: () => Promise<unknown>, expected: number): Promise<number> {
  const start = performance.now();
  const value = await fn();
  const ms = performance.now() - start;
  if (value !== expected) throw new Error(`benchmark returned ${String(value)}, expected ${expected}`);
  return ms;
}

const sumBelow = (n: number) => (n * (n - 1)) / 2;

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

/** The jobs of the main thread, which never touches floe. */
const baselineJobs: Record<string, Job> = {
  chainPlain: () => timed(() => plainChains(BASELINE_CHAINS, direct), STEPS),
  chainPLimit: () => timed(() => plainChains(BASELINE_CHAINS, pLimit(LIMIT)), STEPS),
};
/** The jobs of the floe thread. */
const floeJobs: Record<string, Job> = {
  chainFloe: floeJob(HIGH, chain, [STEPS], STEPS),
  // Plain awaits in the thread where floe has run: what AsyncLocalStorage's hooks cost.
  chainPlainAfterFloe: () => timed(() => plainChains(BASELINE_CHAINS, direct), STEPS),
  memory: measureMemory,
};
for (const n of FAN_OUTS) {
  baselineJobs[`all${n}`] = () => timed(() => plainFanOut(n, direct), sumBelow(n));
  baselineJobs[`pLimit${n}`] = () => timed(() => plainFanOut(n, pLimit(LIMIT)), sumBelow(n));
  floeJobs[`floeHigh${n}`] = floeJob(HIGH, fanOut, [n], sumBelow(n));
  floeJobs[`floe${LIMIT}_${n}`] = floeJob(LIMIT, fanOut, [n], sumBelow(n));
}

/** Heap kept by one engine after a 10,000 fan-out (every run's history is kept, by design); bytes. */
async function measureMemory(): Promise<number> {
  const gc = globalThis.gc;
  if (gc === undefined) return NaN;
  const n = FAN_OUTS.at(-1) ?? 0;
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
    await timed(() => engine.submit(fanOut, n).result(), sumBelow(n));
    return (await heapAfterGc()) - before;
  } finally {
    await engine.close();
  }
}

// ---- the floe thread ----
interface Request {
  readonly job: string;
}
type Reply = { readonly ms: number } | { readonly error: string };

if (!isMainThread) {
  const port = parentPort;
  if (port === null) throw new Error("the floe thread has no parent port");
  port.on("message", (request: Request) => {
    const job = floeJobs[request.job];
    const reply = (r: Reply) => port.postMessage(r);
    if (job === undefined) reply({ error: `unknown job ${request.job}` });
    else job().then((ms) => reply({ ms }), (error: unknown) => reply({ error: String((error as Error)?.stack ?? error) }));
  });
}

/** Runs jobs in the floe thread, one at a time. */
class FloeThread {
  readonly #worker = new Worker(new URL(import.meta.url));

  run(job: string): Promise<number> {
    return new Promise((resolve, reject) => {
      // A thread that dies instead of answering fails the run rather than leaving it waiting.
      const failed = (error: Error) => reject(error);
      this.#worker.once("error", failed);
      this.#worker.once("message", (reply: Reply) => {
        this.#worker.off("error", failed);
        if ("ms" in reply) resolve(reply.ms);
        else reject(new Error(reply.error));
      });
      this.#worker.postMessage({ job } satisfies Request);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

// ---- measuring ----
/**
 * Warms each job, then runs them in turn `reps` times: the times of each job, by round.
 * Jobs of one round run back to back, so they see the host at the same speed.
 */
async function inTurns(jobs: readonly Job[], reps = REPS): Promise<number[][]> {
  for (const job of jobs) {
    const warmUntil = performance.now() + WARMUP_MS;
    for (let i = 0; i < WARMUPS || performance.now() < warmUntil; i++) await job();
  }
  const times = jobs.map((): number[] => []);
  for (let r = 0; r < reps; r++) {
    for (const [i, job] of jobs.entries()) times[i]?.push(await job());
  }
  return times;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
/** The median, over rounds, of `a[r] / b[r]`. */
const medianRatio = (a: readonly number[], b: readonly number[]) => median(a.map((x, r) => x / (b[r] ?? NaN)));

const tasksPerSec = (n: number, ms: number) => (n / ms) * 1000;
const usPerStep = (ms: number, chains = 1) => (ms * 1000) / (chains * STEPS);

interface FanOutRow {
  n: number;
  floeHigh: number;
  floe64: number;
  promiseAll: number;
  pLimit: number;
  /** Median of floe's time over p-limit's, round by round (c=64 against p-limit(64)). */
  slowerThanPLimit: number;
  /** Median of floe's time (c=100,000) over Promise.all's, round by round. */
  slowerThanAll: number;
  /** Median of floe's time (c=100,000) over p-limit's, round by round: what the target is scaled by. */
  highOverPLimit: number;
}
interface ChainRow {
  floe: number;
  plain: number;
  pLimit: number;
  plainAfterFloe: number;
  slowerThanPLimit: number;
  slowerThanPlain: number;
}

async function measureFanOut(floe: FloeThread, n: number): Promise<FanOutRow> {
  const [all = [], limited = [], high = [], low = []] = await inTurns([
    baselineJobs[`all${n}`] as Job,
    baselineJobs[`pLimit${n}`] as Job,
    () => floe.run(`floeHigh${n}`),
    () => floe.run(`floe${LIMIT}_${n}`),
  ]);
  return {
    n,
    floeHigh: tasksPerSec(n, median(high)),
    floe64: tasksPerSec(n, median(low)),
    promiseAll: tasksPerSec(n, median(all)),
    pLimit: tasksPerSec(n, median(limited)),
    slowerThanPLimit: medianRatio(low, limited),
    slowerThanAll: medianRatio(high, all),
    highOverPLimit: medianRatio(high, limited),
  };
}

async function measureChain(floe: FloeThread): Promise<ChainRow> {
  const [plain = [], limited = [], floeTimes = []] = await inTurns(
    [baselineJobs.chainPlain as Job, baselineJobs.chainPLimit as Job, () => floe.run("chainFloe")],
    REPS * 2,
  );
  const [after = []] = await inTurns([() => floe.run("chainPlainAfterFloe")]);
  const perStep = (times: readonly number[], chains: number) => times.map((ms) => usPerStep(ms, chains));
  return {
    floe: usPerStep(median(floeTimes)),
    plain: usPerStep(median(plain), BASELINE_CHAINS),
    pLimit: usPerStep(median(limited), BASELINE_CHAINS),
    plainAfterFloe: usPerStep(median(after), BASELINE_CHAINS),
    slowerThanPLimit: medianRatio(perStep(floeTimes, 1), perStep(limited, BASELINE_CHAINS)),
    slowerThanPlain: medianRatio(perStep(floeTimes, 1), perStep(plain, BASELINE_CHAINS)),
  };
}

// ---- printing ----
const fmt = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const row = (cells: string[], widths: number[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
/** Says how floe's cost compares with a baseline's, from the ratio of their times. */
const versus = (ratio: number, name: string) =>
  ratio >= 1 ? `floe is ${fmt(ratio, 1)}x slower than ${name}` : `floe is ${fmt(1 / ratio, 1)}x faster than ${name}`;
const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
const load = () => fmt(os.loadavg()[0] ?? NaN, 2);

function printFanOut(rows: readonly FanOutRow[]): void {
  const w = [8, 14, 11, 13, 13];
  console.log("\nFAN-OUT of N no-op tasks joined by one wait:true task (tasks/s, higher is better)");
  console.log(row(["N", `floe c=${fmt(HIGH)}`, `floe c=${LIMIT}`, "Promise.all", `p-limit(${LIMIT})`], w));
  for (const r of rows) console.log(row([fmt(r.n), fmt(r.floeHigh), fmt(r.floe64), fmt(r.promiseAll), fmt(r.pLimit)], w));
  console.log("  round by round (median of the ratios of times):");
  for (const r of rows) {
    console.log(
      `  N=${fmt(r.n)}: ${versus(r.slowerThanAll, "Promise.all")} (c=${fmt(HIGH)}); ${versus(r.slowerThanPLimit, `p-limit(${LIMIT})`)} (c=${LIMIT})`,
    );
  }
}

function printChain(c: ChainRow): void {
  const w = [46, 8];
  console.log(`\nCHAIN of ${STEPS} awaited steps (µs per step, lower is better)`);
  console.log(row([`floe c=${fmt(HIGH)}`, fmt(c.floe, 2)], w));
  console.log(`${row(["plain await", fmt(c.plain, 3)], w)}  ${versus(c.slowerThanPlain, "plain await")}`);
  console.log(`${row([`p-limit(${LIMIT})`, fmt(c.pLimit, 3)], w)}  ${versus(c.slowerThanPLimit, `p-limit(${LIMIT})`)}`);
  console.log(row(["plain await in floe's thread (ALS hooks on)", fmt(c.plainAfterFloe, 3)], w));
}

function printMemory(bytes: number): void {
  const n = FAN_OUTS.at(-1) ?? 0;
  console.log(`\nMEMORY kept after one ${fmt(n)} fan-out (the engine keeps every run's history)`);
  if (Number.isNaN(bytes)) {
    console.log("  skipped: run with --expose-gc (npm run bench does)");
    return;
  }
  const executions = n + 2; // the tasks, the join and the workflow
  console.log(`  heap delta ${fmt(bytes / 2 ** 20, 1)} MiB = ${fmt(bytes / executions)} B per execution (${fmt(executions)})`);
}

function printTargets(fan: FanOutRow | undefined, step: number): void {
  const n = fmt(fan?.n ?? 0);
  const measured = fan?.floeHigh ?? NaN;
  // The same work at the speed this host had when the target was set: p-limit's reference
  // figure over floe's median ratio to p-limit in this run.
  const scaled = REFERENCE_PLIMIT / (fan?.highOverPLimit ?? NaN);
  console.log("\nTARGETS");
  console.log(`  ${n} fan-out >= ${fmt(TARGET.tasksPerSec)} tasks/s: ${fmt(measured)}  ${verdict(measured >= TARGET.tasksPerSec)}`);
  console.log(
    `    at the host speed of the target (p-limit(${LIMIT}) at ${fmt(REFERENCE_PLIMIT)} tasks/s), ` +
      `from floe's ratio to p-limit: ${fmt(scaled)}  ${verdict(scaled >= TARGET.tasksPerSec)}`,
  );
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
  console.log(`floe embedded engine: ${machine}; median of ${REPS} rounds after at least ${WARMUP_MS} ms of warm-up per job`);
  console.log(`wall-clock times; load average ${load()} at start (other processes inflate them)`);
  const floe = new FloeThread();
  try {
    const rows: FanOutRow[] = [];
    for (const n of FAN_OUTS) rows.push(await measureFanOut(floe, n));
    const chainRow = await measureChain(floe);
    const memory = await floe.run("memory");
    printFanOut(rows);
    printChain(chainRow);
    printMemory(memory);
    printTargets(rows.at(-1), chainRow.floe);
  } finally {
    await floe.close();
  }
  console.log(`\nload average ${load()} at end`);
}

if (isMainThread) await main();
