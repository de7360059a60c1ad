/**
 * The embedded engine's worker pool (`createEngine({ workers })`, `runner: "worker"`): the
 * code runs on worker threads with the same results, errors, retries, timeouts, cancels
 * and logs as on the main thread, while the orchestration stays on the main thread. One
 * pool serves the file (a thread's start costs seconds of tsx on this machine).
 */
import { threadId } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { createEngine, ErrorCode, State, task } from "floe";
import { ManualClock } from "../support/sim-sqs.ts";
import {
  poolFail,
  poolFanOut,
  poolFlaky,
  poolHash,
  poolLog,
  poolRendezvous,
  poolSpin,
  poolSpinForever,
  poolSubmits,
} from "../fixtures/pool-tasks.ts";

const module = new URL("../fixtures/pool-tasks.ts", import.meta.url);
const clock = new ManualClock();
const engine = createEngine({ clock, workers: { count: 2, module }, printLogs: false });
afterAll(() => engine.close());

/** Not in the worker module: the threads cannot find it. */
const notInModule = task("pool_not_in_module", { runner: "worker" }, () => 1);

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Waits (event-loop turns, no clock) until `id` has logged `message` from its thread. */
async function untilLogged(id: string, message: string): Promise<void> {
  for (;;) {
    const logs = await engine.getLogs(id);
    if (logs?.lines.some((line) => line.message === message)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Two tasks that each finish only once the other runs at once on another thread. */
async function bothThreadsFree(group: string): Promise<number[]> {
  const [a, b] = await Promise.all([engine.submit(poolRendezvous, group).result(), engine.submit(poolRendezvous, group).result()]);
  expect(a).toEqual(b);
  return a;
}

describe("worker pool", () => {
  it("runs a worker task on another thread and returns what the codec carries", async () => {
    const result = await engine.submit(poolHash, { seed: "x", rounds: 3, at: new Date(5), big: 21n, tags: new Set(["ab", "c"]) }).result();
    expect(result.threadId).not.toBe(threadId);
    expect(result).toMatchObject({ at: new Date(5), big: 42n, tags: new Map([["ab", 2], ["c", 1]]) });
    expect(result.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("keeps the workflow on the main thread while its worker tasks run on the pool", async () => {
    const { workflowThread, threads } = await engine.submit(poolFanOut, 6).result();
    expect(workflowThread).toBe(threadId);
    expect(threads.length).toBeGreaterThan(0);
    expect(threads).not.toContain(threadId);
  });

  it("runs tasks on more than one thread at once", async () => {
    const threads = await bothThreadsFree("parallel");
    expect(new Set(threads).size).toBe(2);
    expect(threads).not.toContain(threadId);
  });

  it("fails with the task's error: name, message, stack, code and cause", async () => {
    const error = (await engine.submit(poolFail, "o-7").result({ raiseOnFailure: false })) as Error & { code?: string };
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "RangeError", message: "order o-7 has no lines", code: "EMPTY_ORDER" });
    expect(error.stack).toContain("pool-tasks.ts");
    expect((error.cause as Error).message).toBe("the cart was emptied");
  });

  it("retries a failed attempt on the pool, as any task", async () => {
    const run = engine.submit(poolFlaky);
    for (let i = 0; i < 2; i += 1) {
      while ((await engine.getExecution(run.id))?.failures?.length !== i + 1) await turn();
      clock.advance(1_000);
    }
    expect(await run.result()).toMatchObject({ attempt: 3 });
    const view = await engine.getExecution(run.id);
    expect(view?.failures?.map((f) => f.error.message)).toEqual(["attempt 1 failed", "attempt 2 failed"]);
  });

  it("times out a busy task by terminating its thread", async () => {
    const run = engine.submit(poolSpin);
    await untilLogged(run.id, "spinning");
    clock.advance(1_000);
    const error = (await run.result({ raiseOnFailure: false })) as Error & { code?: string };
    expect(error.code).toBe(ErrorCode.Timeout);
  });

  it("cancels a busy task by terminating its thread", async () => {
    const run = engine.submit(poolSpinForever);
    await untilLogged(run.id, "spinning");
    await run.cancel();
    expect((await engine.getExecution(run.id))?.state).toBe(State.Cancelled);
  });

  it("has both threads free after a timeout and a cancel: the spinning threads were terminated", async () => {
    // Either spinner still running would leave one thread at most for these two.
    expect(new Set(await bothThreadsFree("after-aborts")).size).toBe(2);
  });

  it("keeps the lines a worker task logs with its execution, tagged and in order", async () => {
    const run = engine.submit(poolLog, "o-9");
    expect(await run.result()).toBe("packed");
    const logs = await engine.getLogs(run.id);
    expect(logs?.lines.map(({ level, message, fields, attempt }) => ({ level, message, fields, attempt }))).toEqual([
      { level: "info", message: "packing", fields: { orderId: "o-9" }, attempt: 1 },
      { level: "warn", message: "order o-9 is heavy", fields: undefined, attempt: 1 },
    ]);
  });

  it("refuses a submission from a worker thread, naming the fix", async () => {
    const run = engine.submit(poolSubmits);
    const error = (await run.result({ raiseOnFailure: false })) as Error & { code?: string };
    expect(error.code).toBe(ErrorCode.InvalidOption);
    expect(error.message).toContain('"pool_submits" runs on a worker thread (runner: "worker"), where it cannot submit or call "pool_log"');
    expect(error.message).toContain('remove runner: "worker"');
    expect((await engine.getRun(run.id))?.executions.map((e) => e.task)).toEqual(["pool_submits"]);
  });

  it("fails a worker task the worker module does not define, naming the module", async () => {
    const error = (await engine.submit(notInModule).result({ raiseOnFailure: false })) as Error & { code?: string };
    expect(error.code).toBe(ErrorCode.InvalidOption);
    expect(error.message).toContain(`task "pool_not_in_module" is marked runner: "worker", but the worker module ${module.href} does not define it`);
  });
});

describe("worker pool options", () => {
  it.each([
    [{ count: 0, module }, "workers.count must be a whole number from 1 to 256, got 0"],
    [{ count: 1.5, module }, "workers.count must be a whole number from 1 to 256, got 1.5"],
    [{ count: "2", module }, 'workers.count must be a whole number from 1 to 256, got "2"'],
    [{ count: 2 }, "workers.module is required"],
    [{ module: "test/fixtures/no-such-module.ts" }, "workers.module names no file"],
    [{ module: 42 }, "workers.module must be a path or a file URL, got 42"],
    [{ module, threads: 2 }, "workers has no option threads; its options are count and module"],
    [4, "workers must be { count, module }, got 4"],
  ])("refuses workers %j", (workers, message) => {
    expect(() => createEngine({ workers: workers as never })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidOption, message: expect.stringContaining(message) }));
  });

  it("refuses a runner other than main or worker", () => {
    expect(() => task("pool_bad_runner", { runner: "thread" as never }, () => 1)).toThrow('runner must be "main" or "worker"');
  });

  it("runs a worker task on the main thread when the engine has no pool", async () => {
    await using plain = createEngine({ printLogs: false });
    const result = await plain.submit(poolHash, { seed: "x", rounds: 1, at: new Date(0), big: 1n, tags: new Set<string>() }).result();
    expect(result.threadId).toBe(threadId);
  });

  it("fails a worker task when the worker module cannot be imported, with the module's error", async () => {
    await using broken = createEngine({ workers: { count: 1, module: new URL("../fixtures/pool-broken.ts", import.meta.url) }, printLogs: false });
    const error = (await broken.submit(poolHash, { seed: "x", rounds: 1, at: new Date(0), big: 1n, tags: new Set<string>() }).result({ raiseOnFailure: false })) as Error & { code?: string };
    expect(error.code).toBe(ErrorCode.InvalidOption);
    expect(error.message).toContain("pool-broken.ts could not be loaded on a worker thread (the broken module's configuration is missing)");
  });
});
