/**
 * Seed 004's elevator: ten stops submitted at once, floors 10 down to 1, each taking
 * floor × 100 ms. Run on `createEngine({ concurrency: 3 })` at most three stops run at a
 * time (the analogue of Prefect's `ThreadPoolTaskRunner(max_workers=3)`); the workflow
 * waits for all of them with `wait()`, which holds no slot while it waits.
 *
 * Run it with `npm run demo`.
 */
import { task, wait, workflow } from "floe";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Moves the elevator to `floor` and stops there: floor × 100 ms. Returns the floor. */
export const stopAtFloor = task("stop_at_floor", async (floor: number) => {
  await sleep(floor * 100);
  return floor;
});

/**
 * Submits a stop at every floor from 10 down to 1 and waits until all have finished.
 * Returns the floors stopped at, in submission order.
 *
 * @example
 * const engine = createEngine({ concurrency: 3 });
 * const floors = await engine.submit(elevator).result();
 */
export const elevator = workflow("elevator", async () => {
  const floors = [];
  for (let floor = 10; floor >= 1; floor--) floors.push(stopAtFloor.submit(floor));
  await wait(floors);
  // Every stop has finished, so these results are read without waiting.
  return Promise.all(floors.map((stop) => stop.result()));
});
