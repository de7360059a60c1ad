/**
 * `external()` on a clock the test controls: the timeout fails it at its time and not
 * before, through a queue that delays 15 minutes at most (each early delivery sends the
 * timeout message on, on the parent's queue); bad arguments are refused naming the fix.
 */
import { afterEach, describe, expect, it } from "vitest";
import { State, external, task, workflow } from "floe";
import { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import type { TaskMessage } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { ManualClock } from "../support/sim-sqs.ts";

const START = Date.UTC(2027, 0, 4, 9, 0, 0);
const HOUR = 3_600_000;
const turns = async (n = 30) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

export const waitsAnHour = workflow("xu_waits_an_hour", async () => external<string>("answer", { timeoutMs: HOUR }).result());
export const retriesAfterLostSend = workflow("xu_lost_send", { retries: { limit: 1, delayMs: 1_000, backoff: "fixed" } }, async () =>
  external<string>("answer", { timeoutMs: HOUR }).result(),
);
export const badExternal = task("xu_bad", async (name: unknown, options: unknown) => {
  external(name as string, options as { timeoutMs: number });
  return "made";
});

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe("an external execution's timeout", () => {
  it("fails it with FLOE_TIMEOUT at its time, not a moment before, and the code waiting sees it", async () => {
    const clock = new ManualClock(START);
    engine = new EmbeddedEngine({ clock });
    const run = engine.submit(waitsAnHour);
    await turns();
    const answer = (await engine.getRun(run.id))?.executions.find((e) => e.taskName === "answer");
    expect(answer).toMatchObject({ state: State.Waiting, notBefore: START + HOUR, external: { timeoutAt: START + HOUR } });
    clock.advance(HOUR - 1);
    await turns();
    expect((await engine.getExecution(answer!.id))?.state).toBe(State.Waiting);
    clock.advance(1);
    await expect(run.result()).rejects.toMatchObject({ code: "FLOE_TIMEOUT", message: expect.stringContaining('"answer"') as unknown });
    expect((await engine.getExecution(answer!.id))?.state).toBe(State.Failed);
  });

  it("is carried across a queue that delays 15 minutes at most, on its parent's queue, and fires once due", async () => {
    const clock = new ManualClock(START);
    const sent: { message: TaskMessage; at: number }[] = [];
    const queue = {
      send(messages: readonly TaskMessage[], delayMs?: number) {
        for (const message of messages) sent.push({ message, at: clock.now() + Math.min(delayMs ?? 0, 900_000) });
      },
    };
    const runtime = new Runtime({ store: new MemoryExecutionStore(), queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, suspendAfterMs: 0 });
    const run = runtime.submit(waitsAnHour);
    // Delivers every message due by now, as a worker would.
    const deliver = async () => {
      for (let next = sent.findIndex((s) => s.at <= clock.now()); next >= 0; next = sent.findIndex((s) => s.at <= clock.now())) {
        const [due] = sent.splice(next, 1);
        await runtime.process(due!.message);
      }
    };
    await deliver();
    await turns();
    const timeouts = () => sent.filter((s) => s.message.executionId !== run.id);
    expect(timeouts().map((s) => s.message.taskName)).toEqual(["xu_waits_an_hour"]);
    const answer = timeouts()[0]!.message.executionId;
    let hops = 0;
    while (clock.now() < START + HOUR) {
      // Each early delivery sends it on, still waiting, on the parent's queue.
      expect((await runtime.getExecution(answer))?.state).toBe(State.Waiting);
      expect(timeouts().map((s) => [s.message.taskName, s.at])).toEqual([["xu_waits_an_hour", Math.min(clock.now() + 900_000, START + HOUR)]]);
      clock.advance(900_000);
      await deliver();
      hops += 1;
    }
    await turns();
    expect(hops).toBe(4);
    await deliver();
    await expect(run.result()).rejects.toMatchObject({ code: "FLOE_TIMEOUT" });
    await runtime.close();
  });
});

describe("a lost timeout message", () => {
  it("is sent again by the retry of the code that created the external, which finds it", async () => {
    const clock = new ManualClock(START);
    const sent: { message: TaskMessage; at: number }[] = [];
    let lose = true;
    const queue = {
      send(messages: readonly TaskMessage[], delayMs?: number) {
        // The first timeout message's send fails after the external's record was written.
        if (lose && delayMs === HOUR) {
          lose = false;
          throw new Error("injected: the queue is unavailable");
        }
        for (const message of messages) sent.push({ message, at: clock.now() + (delayMs ?? 0) });
      },
    };
    const runtime = new Runtime({ store: new MemoryExecutionStore(), queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, suspendAfterMs: 0 });
    const run = runtime.submit(retriesAfterLostSend);
    const deliver = async () => {
      for (let next = sent.findIndex((s) => s.at <= clock.now()); next >= 0; next = sent.findIndex((s) => s.at <= clock.now())) {
        const [due] = sent.splice(next, 1);
        await runtime.process(due!.message).catch(() => undefined);
      }
      await turns();
    };
    await deliver();
    expect(lose).toBe(false);
    clock.advance(1_000);
    await deliver();
    // The retry found the external and sent its timeout message again.
    expect(sent.filter((s) => s.message.executionId !== run.id).map((s) => s.at)).toEqual([START + HOUR]);
    clock.advanceTo(START + HOUR);
    await deliver();
    await expect(run.result()).rejects.toMatchObject({ code: "FLOE_TIMEOUT" });
    await runtime.close();
  });
});

describe("external() refuses bad arguments, naming the fix", () => {
  const cases: [string, unknown, unknown, RegExp][] = [
    ["a name with a space", "manager approval", { timeoutMs: HOUR }, /the name must start with a letter/],
    ["no timeout", "approval", undefined, /timeoutMs is required/],
    ["a timeout under a second", "approval", { timeoutMs: 999 }, /timeoutMs: 999 \}\): timeoutMs is required, a whole number/],
    ["a fractional timeout", "approval", { timeoutMs: 1500.5 }, /1500\.5/],
    ["a timeout over 30 days", "approval", { timeoutMs: 31 * 86_400_000 }, /30 days/],
  ];
  for (const [what, name, options, message] of cases) {
    it(`refuses ${what}, creating nothing`, async () => {
      engine = new EmbeddedEngine();
      const run = engine.submit(badExternal, name, options);
      await expect(run.result()).rejects.toMatchObject({ code: "FLOE_INVALID_OPTION", message: expect.stringMatching(message) as unknown });
      expect((await engine.getRun(run.id))?.executions).toHaveLength(1);
    });
  }

  it("refuses a call outside any task", () => {
    expect(() => external("approval", { timeoutMs: HOUR })).toThrow(/works only inside a task or workflow/);
  });
});
