/**
 * The worker module of `bench/pool.ts`: a CPU-bound task and a fan-out of it. Each pool
 * thread imports this module, so it starts nothing on import.
 */
import { createHash } from "node:crypto";
import { threadId } from "node:worker_threads";
import { task, workflow } from "floe";

/** `rounds` chained SHA-256 digests: pure CPU, no I/O. */
export function burn(seed: number, rounds: number): string {
  let value = `seed-${seed}`;
  for (let i = 0; i < rounds; i += 1) value = createHash("sha256").update(value).digest("hex");
  return value;
}

/** One CPU-bound step, on the pool when the engine has one. */
export const burnTask = task("bench_burn", { runner: "worker" }, (seed: number, rounds: number) => ({ hash: burn(seed, rounds), threadId }));

/** `n` steps at once; answers how many threads ran them. */
export const burnAll = workflow("bench_burn_all", async (n: number, rounds: number) => {
  const parts = await Promise.all(Array.from({ length: n }, (_, i) => burnTask(i, rounds)));
  return new Set(parts.map((p) => p.threadId)).size;
});
