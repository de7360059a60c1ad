/**
 * Delayed starts (`task.with({ delayMs } | { startAt })`): the execution is `queued` with
 * its start as `notBefore`, runs not before it, and a queue that cannot delay that long
 * (SQS: 15 minutes) delivers early and gets the message again with the delay left. Time is
 * the test's clock.
 */
import { describe, expect, it } from "vitest";
import { State, createEngine, task, workflow, type Engine } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import type { TaskMessage } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { ManualClock } from "../support/sim-sqs.ts";
import { takeAll } from "../support/take-all.ts";

const ran: number[] = [];
let clockNow: () => number = () => 0;
const remind = task("ds_remind", async (user: string) => {
  ran.push(clockNow());
  return `reminded ${user}`;
});
const later = workflow("ds_later", async (user: string) => {
  const child = remind.with({ delayMs: 60_000 }).submit(user);
  return child.id;
});

const upstream = task("ds_upstream", async () => "up");
const joined = task("ds_joined", { wait: true }, async (_value: unknown) => {
  ran.push(clockNow());
  return "joined";
});
const chain = workflow("ds_chain", async () => joined.with({ delayMs: 10_000 }).submit(upstream.submit()).id);

const turns = async (n = 20) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

function engineAt(start: number): { clock: ManualClock; engine: Engine } {
  const clock = new ManualClock(start);
  clockNow = () => clock.now();
  ran.length = 0;
  return { clock, engine: createEngine({ clock }) };
}

describe("a delayed start", () => {
  it("is queued with its start time and runs not before it", async () => {
    const { clock, engine } = engineAt(1_000_000);
    const run = engine.submit(remind.with({ delayMs: 90_000 }), "ada");
    await turns();
    expect(await engine.getExecution(run.id)).toMatchObject({ state: State.Queued, notBefore: 1_090_000 });
    clock.advance(89_999);
    await turns();
    expect(ran).toEqual([]);
    clock.advance(1);
    expect(await run.result()).toBe("reminded ada");
    expect(ran).toEqual([1_090_000]);
    await engine.close();
  });

  it("takes a Date, and works for a child submitted inside a workflow", async () => {
    const { clock, engine } = engineAt(5_000_000);
    const at = engine.submit(remind.with({ startAt: new Date(5_030_000) }), "bob");
    const parent = engine.submit(later, "cy");
    const childId = await parent.result();
    expect(await engine.getExecution(childId)).toMatchObject({ state: State.Queued, notBefore: 5_060_000 });
    clock.advance(30_000);
    expect(await at.result()).toBe("reminded bob");
    expect(ran).toEqual([5_030_000]);
    clock.advance(30_000);
    await turns();
    expect(await engine.getExecution(childId)).toMatchObject({ state: State.Completed });
    expect(ran).toEqual([5_030_000, 5_060_000]);
    await engine.close();
  });

  it("waits for its upstreams and for its time, whichever comes last", async () => {
    const { clock, engine } = engineAt(7_000_000);
    const id = await engine.submit(chain).result();
    await turns();
    expect(await engine.getExecution(id)).toMatchObject({ state: State.Queued, notBefore: 7_010_000 });
    clock.advance(9_999);
    await turns();
    expect(ran).toEqual([]);
    clock.advance(1);
    await turns();
    expect(await engine.getExecution(id)).toMatchObject({ state: State.Completed });
    expect(ran).toEqual([7_010_000]);
    await engine.close();
  });

  it("refuses bad input naming the value and the fix, and writes nothing", async () => {
    const { engine } = engineAt(10_000_000);
    const bad: unknown[] = [{ delayMs: -1 }, { delayMs: 1.5 }, { delayMs: 31 * 86_400_000 }, {}, { delayMs: 1, startAt: new Date() }, { startAt: "tomorrow" }];
    for (const options of bad) {
      expect(() => remind.with(options as { delayMs: number }), JSON.stringify(options)).toThrow(expect.objectContaining({ code: "FLOE_INVALID_OPTION" }));
    }
    expect(() => engine.submit(remind.with({ startAt: new Date(9_999_999) }), "x")).toThrow(/in the past.*pass a future time/);
    expect(() => engine.submit(remind.with({ startAt: new Date(10_000_000 + 31 * 86_400_000) }), "x")).toThrow(/more than 30 days ahead/);
    expect(() => remind.with({ delayMs: -5 })).toThrow(/delayMs: -5.*whole number of milliseconds from 0/);
    expect(await engine.listRuns()).toEqual([]);
    await engine.close();
  });
});

/** SQS's longest delay: a longer one is delivered this early. */
const SQS_MAX_MS = 900_000;

describe("a delayed start longer than the queue can delay", () => {
  it("is delivered early, sent again with the delay left, and runs at its time", async () => {
    const clock = new ManualClock(1_000);
    clockNow = () => clock.now();
    ran.length = 0;
    const queue = new MemoryTaskQueue(clock);
    const sends: (number | undefined)[] = [];
    const capped = Object.assign(Object.create(queue) as MemoryTaskQueue, {
      send: (messages: readonly TaskMessage[], delayMs?: number) => {
        sends.push(delayMs);
        queue.send(messages, delayMs === undefined ? undefined : Math.min(delayMs, SQS_MAX_MS));
      },
    });
    const runtime = new Runtime({ store: new MemoryExecutionStore(), queue: capped, blobs: new MemoryBlobStore(), clock, ids: cryptoIds });
    const run = runtime.submit(remind.with({ delayMs: 2 * 3_600_000 }), "dee");
    await turns();
    for (let step = 0; step < 8; step += 1) {
      clock.advance(SQS_MAX_MS);
      for (const message of takeAll(queue)) await runtime.process(message);
    }
    expect(ran).toEqual([1_000 + 2 * 3_600_000]);
    expect(sends).toEqual([7_200_000, 6_300_000, 5_400_000, 4_500_000, 3_600_000, 2_700_000, 1_800_000, 900_000]);
    expect(await run.result()).toBe("reminded dee");
    await runtime.close();
  });
});
