/**
 * `sleep(ms | Date)` inside a task: the attempt ends, the execution is `sleeping` with its
 * wake time as `notBefore` (holding no slot), and it runs again from the start then; a
 * passed sleep returns at once on the re-run. Time is the test's clock.
 */
import { describe, expect, it } from "vitest";
import { State, createEngine, sleep, task, workflow } from "floe";
import { ManualClock } from "../support/sim-sqs.ts";

const turns = async (n = 30) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

const log: string[] = [];
const note = task("sl_note", async (what: string) => {
  log.push(what);
  return what;
});
const twice = workflow("sl_twice", async () => {
  await note("before");
  await sleep(60_000);
  await note("between");
  await sleep(new Date(START + 120_000));
  await note("after");
  return "woke";
});
const START = 2_000_000_000_000;
let inlineRuns = 0;
const quick = task("sl_quick", { inline: true }, async () => {
  inlineRuns += 1;
  return "quick";
});
const inlineThenSleep = workflow("sl_inline", async () => {
  const got = await quick();
  await sleep(1_000);
  return got;
});
const napper = task("sl_napper", { inline: true }, async () => {
  await sleep(5_000);
  return "napped";
});
const callsNapper = workflow("sl_calls_napper", async () => napper());
const fast = task("sl_fast", async () => "done");
const outside = workflow("sl_bad", async (arg: unknown) => {
  await sleep(arg as number);
  return "slept";
});

describe("sleep", () => {
  it("makes the execution sleeping until its wake time, holding no slot, and runs it again from the start then", async () => {
    const clock = new ManualClock(START);
    const engine = createEngine({ clock, concurrency: 1 });
    log.length = 0;
    const run = engine.submit(twice);
    await turns();
    expect(await engine.getExecution(run.id)).toMatchObject({ state: State.Sleeping, wakeAt: START + 60_000 });
    expect(await run.state()).toBe(State.Sleeping);
    // Its slot is free: another task runs while it sleeps (concurrency 1).
    expect(await engine.submit(fast).result()).toBe("done");
    clock.advance(59_999);
    await turns();
    expect(log).toEqual(["before"]);
    clock.advance(1);
    await turns();
    expect(await engine.getExecution(run.id)).toMatchObject({ state: State.Sleeping, wakeAt: START + 120_000 });
    clock.advance(60_000);
    expect(await run.result()).toBe("woke");
    expect(await engine.getExecution(run.id)).not.toHaveProperty("wakeAt");
    // The children are made once (derived ids); the code before each sleep ran again.
    expect(log).toEqual(["before", "between", "after"]);
    const history = (await engine.getExecution(run.id))!.history.map((h) => [h.state, h.at - START]);
    expect(history).toEqual([
      [State.Queued, 0],
      [State.Running, 0],
      [State.Sleeping, 0],
      [State.Running, 60_000],
      [State.Sleeping, 60_000],
      [State.Running, 120_000],
      [State.Completed, 120_000],
    ]);
    await engine.close();
  });

  it("passes the result of an inline call made before it to the re-run, without running the call again", async () => {
    const clock = new ManualClock(START);
    const engine = createEngine({ clock });
    inlineRuns = 0;
    const run = engine.submit(inlineThenSleep);
    await turns();
    clock.advance(1_000);
    expect(await run.result()).toBe("quick");
    expect(inlineRuns).toBe(1);
    await engine.close();
  });

  it("is cancelled like any queued execution: it never wakes", async () => {
    const clock = new ManualClock(START);
    const engine = createEngine({ clock });
    log.length = 0;
    const run = engine.submit(twice);
    await turns();
    expect(await run.state()).toBe(State.Sleeping);
    await engine.cancel(run);
    clock.advance(200_000);
    await turns();
    expect(await engine.getExecution(run.id)).toMatchObject({ state: State.Cancelled });
    expect(log).toEqual(["before"]);
    await engine.close();
  });

  it("in an inline task, sleeps that task as an execution of its own, its caller waiting for it", async () => {
    const clock = new ManualClock(START);
    const engine = createEngine({ clock });
    const run = engine.submit(callsNapper);
    await turns();
    clock.advance(5_000);
    expect(await run.result()).toBe("napped");
    await engine.close();
  });

  it.each([[999], [1.5], [31 * 86_400_000], [new Date(START - 1)], [new Date(Number.NaN)], ["soon"]])(
    "refuses %s with FLOE_INVALID_OPTION naming the fix",
    async (arg) => {
      const engine = createEngine({ clock: new ManualClock(START) });
      await expect(engine.submit(outside, arg).result()).rejects.toMatchObject({ code: "FLOE_INVALID_OPTION", message: expect.stringMatching(/^sleep\(.*(1 second|valid Date|next 30 days)/) });
      await engine.close();
    },
  );

  it("is refused outside a task", () => {
    expect(() => sleep(5_000)).toThrow(expect.objectContaining({ code: "FLOE_INVALID_OPTION", message: expect.stringContaining("only inside a task") }));
  });
});
