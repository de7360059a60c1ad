/**
 * CPU-bound work on more than one core: `crunch` hashes a block of data for about 20 ms,
 * and is marked `runner: "worker"`, so an engine with a worker pool runs it on worker
 * threads while the workflow, which only fans out and gathers, stays on the main thread.
 * Without a pool (or on the local cloud and AWS, where every task is a Lambda function of
 * its own) the same code runs unchanged.
 *
 * Run it with `floe run examples/cpu-pool.ts crunch_all 32 --workers 2` (`npm run floe --`
 * in this repository), or from code with `crunchOnPool(32, 2)`. This module is the pool's
 * worker module: each thread imports it to find `crunch`, so it starts nothing on import.
 */
import { createHash } from "node:crypto";
import { threadId } from "node:worker_threads";
import { createEngine, task, workflow } from "floe";

/** How many SHA-256 rounds one block takes: about 20 ms on an idle 2020s core. */
export const ROUNDS = 8_000;

/** The block's digest after `rounds` chained SHA-256 rounds. */
export function digest(block: number, rounds = ROUNDS): string {
  let value = `block-${block}`;
  for (let i = 0; i < rounds; i += 1) value = createHash("sha256").update(value).digest("hex");
  return value;
}

/** Hashes one block on a worker thread; says which thread did it. */
export const crunch = task("crunch", { runner: "worker", retries: 2 }, (block: number) => {
  const hash = digest(block);
  return { block, hash, threadId };
});

/**
 * Hashes `blocks` blocks in parallel and combines them: the fan-out and the gathering run
 * on the main thread, the hashing on the pool.
 */
export const crunchAll = workflow("crunch_all", async (blocks: number) => {
  const parts = await Promise.all(Array.from({ length: blocks }, (_, i) => crunch(i)));
  const combined = createHash("sha256");
  for (const part of parts) combined.update(part.hash);
  return {
    digest: combined.digest("hex"),
    workflowThread: threadId,
    workerThreads: [...new Set(parts.map((p) => p.threadId))].sort((a, b) => a - b),
  };
});

/**
 * Runs `crunch_all` on an engine of its own with `workers` threads.
 * @example
 * const { digest, workerThreads } = await crunchOnPool(32, 2);
 */
export async function crunchOnPool(blocks: number, workers: number) {
  await using engine = createEngine({ workers: { count: workers, module: import.meta.url } });
  return engine.submit(crunchAll, blocks).result();
}
