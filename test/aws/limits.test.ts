/**
 * Concurrency and rate limits on the local cloud: the real handlers over DynamoDB Local and
 * the SQS server, one runtime per function. A held execution costs no invocation (no
 * message is sent for it), a freed slot sends the next one, and a rate limit's excess
 * messages are delayed; the counters live in the executions table, apart from executions.
 */
import { describe, expect, it } from "vitest";
import { task, taskContext } from "floe";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import type { ExecutionRecord } from "../../sdk/engine/model.ts";
import { localCloudsForFile } from "../support/file-emulators.ts";
import { waitFor } from "../support/jump-clock.ts";
import { latch, measured, openLatch, peak } from "../conformance/probes.ts";

const clouds = localCloudsForFile("limits");

// Executions at once, not attempts: on a machine slow enough for a holder's message to come
// back after its 30 s, the local cloud starts a take-over beside the attempt still waiting
// on its latch, which Lambda would have stopped at its timeout. The take-over keeps the slot
// and waits on the same latch, unmeasured.
const guarded = task("lc_lim_call", { concurrency: { limit: 2, key: (tenant: string, _n: number) => tenant } }, async (tenant: string, n: number) => {
  const wait = async () => {
    await latch(`lc_lim_${tenant}_${n}`);
    return n;
  };
  return (taskContext()?.attempt ?? 1) > 1 ? wait() : measured(`lc_lim_${tenant}`, wait);
});

const rated = task("lc_lim_rate", { rateLimit: { limit: 2, periodMs: 1_000 } }, async (n: number) => n);

async function start() {
  const { runtime, invocations } = await clouds.start();
  const invoked = { get count() { return [...invocations.values()].reduce((a, b) => a + b, 0); } };
  return { runtime, invoked };
}

async function recordsOf(runtime: Runtime, ids: readonly string[]): Promise<ExecutionRecord[]> {
  return (await runtime.engine.store.getMany(ids)).map((r) => r as ExecutionRecord);
}

describe("limits on the local cloud", () => {
  it("holds executions over a concurrency limit with no invocation, and starts them as slots free", async () => {
    const { runtime, invoked } = await start();
    const runs = [0, 1, 2, 3, 4].map((n) => runtime.submit(guarded, "acme", n));
    // Generous: the emulators share two cores with other work.
    await waitFor(() => invoked.count >= 2, 60_000);
    let records: ExecutionRecord[] = [];
    for (let i = 0; i < 300; i += 1) {
      records = await recordsOf(runtime, runs.map((r) => r.id));
      if (records.filter((r) => r.state === "running").length === 2 && records.filter((r) => r.held?.by === "concurrency").length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Nothing was sent for the three held: never claimed (counting invocations instead
    // would count the holders' redeliveries on a machine slow enough to pass their 30 s).
    const held = records.filter((r) => r.held?.by === "concurrency");
    expect(held.map((r) => r.history.map((h) => h.state))).toEqual([["queued"], ["queued"], ["queued"]]);
    expect(invoked.count).toBeGreaterThanOrEqual(2);
    const limit = await runtime.engine.store.limits?.acquire("C|lc_lim_call|acme", "probe", 2);
    expect(limit).toEqual({ admitted: false, added: false, holders: 2 });
    for (let n = 0; n < 5; n += 1) openLatch(`lc_lim_acme_${n}`);
    expect(await Promise.all(runs.map((r) => r.result()))).toEqual([0, 1, 2, 3, 4]);
    expect(peak("lc_lim_acme")).toBe(2);
    // Every slot came back: the limit admits two again.
    expect(await runtime.engine.store.limits?.acquire("C|lc_lim_call|acme", "probe", 2)).toEqual({ admitted: true, added: true, holders: 1 });
    // The counters are not executions: no run lists them.
    expect((await runtime.listRuns({ limit: 50 })).map((r) => r.taskName)).toEqual(Array(5).fill("lc_lim_call"));
  }, 120_000);

  it("delays the messages of starts over a rate limit to the start of the next window with room", async () => {
    const { runtime } = await start();
    const runs = [0, 1, 2, 3].map((n) => runtime.submit(rated, n));
    expect(await Promise.all(runs.map((r) => r.result()))).toEqual([0, 1, 2, 3]);
    const records = await recordsOf(runtime, runs.map((r) => r.id));
    // Four starts, two a window: at least one waited (two, unless the submissions straddled
    // a window's end), each for a window's start, with two at most a window, never early.
    const held = records.filter((r) => r.held?.by === "rate");
    expect(held.length).toBeGreaterThanOrEqual(1);
    for (const record of held) {
      const until = record.held?.until ?? 0;
      expect(until % 1_000).toBe(0);
      expect(record.startedAt).toBeGreaterThanOrEqual(until);
      expect(held.filter((r) => r.held?.until === until).length).toBeLessThanOrEqual(2);
    }
    // The windows are items of their own: the one of the first start counted one or more.
    const window = Math.floor(Math.min(...records.map((r) => r.queuedAt ?? Infinity)) / 1_000);
    expect(await runtime.engine.store.limits?.countStart("R|lc_lim_rate|", window, 1_000, 0)).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
