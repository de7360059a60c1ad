/**
 * Concurrency and rate limits on the embedded engine: executions over a limit wait queued
 * with no message sent, slots come back on every way out, and a rate limit's starts keep
 * to its windows. Time is the test's clock; peaks are counted with a probe.
 */
import { describe, expect, it } from "vitest";
import { State, createEngine, task, workflow, sleep, type Engine, type Execution } from "floe";
import { ManualClock } from "../support/sim-sqs.ts";
import { latch, measured, openLatch, peak } from "../conformance/probes.ts";
import { LimitGate, limitKey } from "../../sdk/engine/limits.ts";
import { ADMISSION_REPAIR_MS } from "../../sdk/engine/execution-engine.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { FaultyStore } from "../faults/faulty-store.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { MemoryLimitStore } from "../../sdk/embedded/memory-limit-store.ts";
import { drive } from "../../sdk/engine/step.ts";
import type { ExecutionRecord } from "../../sdk/engine/model.ts";
import type { LimitStore, LimitWaiter } from "../../sdk/engine/ports.ts";

interface Req {
  readonly tenant: string;
  readonly n: number;
}

const turns = async (n = 30) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

const limited = task("lim_call", { concurrency: { limit: 2 } }, async (n: number) =>
  measured("lim_call", async () => {
    await latch(`lim_call_${n}`);
    return n;
  }),
);

const perTenant = task("lim_tenant", { concurrency: { limit: 1, key: (req: Req) => req.tenant } }, async (req: Req) =>
  measured(`lim_tenant_${req.tenant}`, async () => {
    await latch(`lim_tenant_${req.tenant}_${req.n}`);
    return `${req.tenant}${req.n}`;
  }),
);

const failing = task("lim_fail", { concurrency: { limit: 1 } }, async (n: number) => {
  await latch(`lim_fail_${n}`);
  if (n === 0) throw new Error("boom");
  return n;
});

let sleeperClock: () => number = () => 0;
const sleepy = task("lim_sleep", { concurrency: { limit: 1 } }, async (n: number) => {
  // The attempt that sleeps never resumes (the wake-up runs the code again): measured after.
  if (n === 0) await sleep(60_000);
  return measured("lim_sleep", async () => {
    await latch(`lim_sleep_${n}`);
    return sleeperClock();
  });
});

const gated = task("lim_gate", { concurrency: { limit: 1 } }, async (n: number) => n);
const pair = task("lim_pair", { concurrency: { limit: 2 } }, async (n: number) => n);

const starts: number[] = [];
const rated = task("lim_rate", { rateLimit: { limit: 2, periodMs: 10_000 } }, async (n: number) => {
  starts.push(sleeperClock());
  return n;
});

const fanOut = workflow("lim_fan", async (count: number) => {
  const children = Array.from({ length: count }, (_, n) => limited.submit(100 + n));
  let total = 0;
  for (const child of children) total += await child.result();
  return total;
});

async function states(engine: Engine, ids: readonly string[]): Promise<string[]> {
  return (await Promise.all(ids.map((id) => engine.getExecution(id)))).map((e) => e?.state ?? "none");
}

describe("a concurrency limit", () => {
  it("runs at most `limit` at once, holds the rest queued with no message, and starts them oldest first as slots free", async () => {
    // A millisecond apart: held executions are admitted by when they were queued (ties by id).
    const clock = new ManualClock(3_000_000);
    const engine = createEngine({ clock });
    const runs = Array.from({ length: 6 }, (_, n) => {
      clock.advance(1);
      return engine.submit(limited, n);
    });
    await turns();
    expect(await states(engine, runs.map((r) => r.id))).toEqual(["running", "running", "queued", "queued", "queued", "queued"]);
    const run = await engine.getRun(runs[2]?.id as string);
    expect(run?.root.why).toMatchObject({ reason: "held", text: expect.stringMatching(/^held by the concurrency limit of lim_call \(2 at once\) since /) });
    openLatch("lim_call_1");
    await turns();
    expect(await states(engine, runs.map((r) => r.id))).toEqual(["running", "completed", "running", "queued", "queued", "queued"]);
    for (let n = 0; n < 6; n += 1) openLatch(`lim_call_${n}`);
    expect(await Promise.all(runs.map((r) => r.result()))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak("lim_call")).toBe(2);
    await engine.close();
  });

  it("counts per key: one tenant's executions wait for each other, not for another tenant's", async () => {
    const engine = createEngine();
    const a = [engine.submit(perTenant, { tenant: "a", n: 1 }), engine.submit(perTenant, { tenant: "a", n: 2 })];
    const b = engine.submit(perTenant, { tenant: "b", n: 1 });
    await turns();
    expect(await states(engine, [a[0]?.id, a[1]?.id, b.id] as string[])).toEqual(["running", "queued", "running"]);
    const why = (await engine.getRun(a[1]?.id as string))?.root.why;
    expect(why?.text).toMatch(/^held by the concurrency limit of lim_tenant \(1 at once, key "a"\)/);
    for (const name of ["a_1", "a_2", "b_1"]) openLatch(`lim_tenant_${name}`);
    expect(await Promise.all([...a, b].map((r) => r.result()))).toEqual(["a1", "a2", "b1"]);
    expect(peak("lim_tenant_a")).toBe(1);
    await engine.close();
  });

  it("gives the slot back when an execution fails, and when a held or running one is cancelled", async () => {
    const engine = createEngine();
    const [first, second, third] = [0, 1, 2].map((n) => engine.submit(failing, n));
    await turns();
    expect(await states(engine, [first, second, third].map((r) => r?.id as string))).toEqual(["running", "queued", "queued"]);
    await engine.cancel(third as never);
    openLatch("lim_fail_0");
    await expect(first?.result()).rejects.toThrow("boom");
    await turns();
    expect(await states(engine, [second, third].map((r) => r?.id as string))).toEqual(["running", "cancelled"]);
    await engine.cancel(second as never);
    const fourth = engine.submit(failing, 3);
    await turns();
    expect((await engine.getExecution(fourth.id))?.state).toBe("running");
    openLatch("lim_fail_3");
    expect(await fourth.result()).toBe(3);
    await engine.close();
  });

  it("holds no slot while an execution sleeps, and its wake-up waits for a slot when none is free", async () => {
    const clock = new ManualClock(1_000_000);
    sleeperClock = () => clock.now();
    const engine = createEngine({ clock });
    const sleeper = engine.submit(sleepy, 0);
    await turns();
    expect((await engine.getExecution(sleeper.id))?.state).toBe("sleeping");
    const other = engine.submit(sleepy, 1);
    await turns();
    expect((await engine.getExecution(other.id))?.state).toBe("running");
    clock.advance(60_000);
    await turns();
    // Woken with the slot taken: back to queued, held, with no message until the slot frees.
    const woken = (await engine.getRun(sleeper.id))?.root;
    expect(woken).toMatchObject({ state: State.Queued, why: { reason: "held" } });
    openLatch("lim_sleep_1");
    openLatch("lim_sleep_0");
    expect(await other.result()).toBe(1_060_000);
    expect(await sleeper.result()).toBe(1_060_000);
    expect(peak("lim_sleep")).toBe(1);
    await engine.close();
  });

  it("frees the slot of a suspended parent, so children of the same limit can run", async () => {
    const engine = createEngine({ suspendAfterMs: 0 });
    const run = engine.submit(fanOut, 3);
    await turns();
    for (const n of [100, 101, 102]) openLatch(`lim_call_${n}`);
    expect(await run.result()).toBe(303);
    await engine.close();
  });
});

describe("a rate limit", () => {
  it("starts at most `limit` per period, delaying the rest to the first moment the window has room", async () => {
    const clock = new ManualClock(2_000_000);
    sleeperClock = () => clock.now();
    starts.length = 0;
    const engine = createEngine({ clock });
    const runs = Array.from({ length: 5 }, (_, n) => engine.submit(rated, n));
    await turns();
    expect(starts).toEqual([2_000_000, 2_000_000]);
    const why = (await engine.getRun(runs[2]?.id as string))?.root.why;
    expect(why).toMatchObject({ reason: "held", until: 2_010_000, text: expect.stringMatching(/^held by the rate limit of lim_rate \(2 per 10 s\) until /) });
    clock.advance(9_999);
    await turns();
    expect(starts).toHaveLength(2);
    clock.advance(1);
    await turns();
    expect(starts).toEqual([2_000_000, 2_000_000, 2_010_000, 2_010_000]);
    clock.advance(10_000);
    expect(await Promise.all(runs.map((r) => r.result()))).toEqual([0, 1, 2, 3, 4]);
    expect(starts).toEqual([2_000_000, 2_000_000, 2_010_000, 2_010_000, 2_020_000]);
    await engine.close();
  });
});

describe("a rate limit's windows", () => {
  it("never counts more than `limit` starts in a window, and starts each at its due time or the first window with room", () => {
    const period = 1_000;
    for (let seed = 1; seed <= 40; seed += 1) {
      let x = seed;
      const random = () => ((x = (x * 48_271) % 2_147_483_647) / 2_147_483_647);
      const limit = 1 + Math.floor(random() * 4);
      const store = new MemoryLimitStore();
      const gate = new LimitGate(store);
      const admitted: number[] = [];
      for (let i = 0; i < 30; i += 1) {
        const due = Math.floor(random() * 3_000);
        const record = { id: `r${i}`, taskName: "lim_w", attempt: 1, notBefore: due, limits: { rate: { key: "", limit, periodMs: period } } } as unknown as ExecutionRecord;
        const at = drive(gate.reserve(record, 0, due)) as number;
        expect(at).toBeGreaterThanOrEqual(due);
        const window = Math.floor(at / period);
        // Its own window was full, or it starts when due.
        if (at > due) expect(admitted.filter((s) => Math.floor(s / period) === Math.floor(due / period)).length).toBe(limit);
        admitted.push(at);
        expect(admitted.filter((s) => Math.floor(s / period) === window).length).toBeLessThanOrEqual(limit);
      }
    }
  });

  it("counts a start once per attempt: a resend of a delayed start keeps its reserved time", () => {
    const store = new MemoryLimitStore();
    const gate = new LimitGate(store);
    const limits = { rate: { key: "", limit: 1, periodMs: 1_000 } };
    const record = (id: string) => ({ id, taskName: "lim_once", attempt: 1, limits }) as unknown as ExecutionRecord;
    expect(drive(gate.reserve(record("a"), 5_000, 5_000))).toBe(5_000);
    expect(drive(gate.reserve(record("b"), 5_000, 5_000))).toBe(6_000);
    const delayed = { ...record("b"), notBefore: 6_000, held: { by: "rate", since: 5_000, limit: 1, periodMs: 1_000, until: 6_000, attempt: 1 } } as ExecutionRecord;
    expect(drive(gate.reserve(delayed, 5_100, 6_000))).toBe(6_000);
    // The window at 6 s still has room for no one else: the resend counted nothing.
    expect(drive(gate.reserve(record("c"), 5_200, 5_200))).toBe(7_000);
    // A retry is another start.
    expect(drive(gate.reserve({ ...delayed, attempt: 2 }, 5_300, 6_000))).toBe(8_000);
  });
});

describe("bad limit options", () => {
  const cases: [string, unknown, RegExp][] = [
    ["a limit of 0", { concurrency: { limit: 0 } }, /concurrency\.limit must be a whole number from 1 to 1000, got 0/],
    ["a fractional limit", { rateLimit: { limit: 1.5, periodMs: 60_000 } }, /rateLimit\.limit must be a whole number from 1 to 1000, got 1\.5/],
    ["a key that is not a function", { concurrency: { limit: 2, key: "tenant" } }, /concurrency\.key must be a function of the task's arguments returning a string/],
    ["a period under a second", { rateLimit: { limit: 5, periodMs: 500 } }, /rateLimit\.periodMs must be a whole number of milliseconds from 1000 \(1 second\) to 2592000000 \(30 days\), got 500/],
    ["a period over 30 days", { rateLimit: { limit: 5, periodMs: 31 * 86_400_000 } }, /rateLimit\.periodMs must be .* \(30 days\)/],
    ["a missing period", { rateLimit: { limit: 5 } }, /rateLimit\.periodMs must be/],
    ["an unknown field", { concurrency: { limit: 2, max: 3 } }, /concurrency has unknown field max; its fields are limit, key/],
    ["a limit on an inline task", { inline: true, concurrency: { limit: 2 } }, /inline cannot be combined with concurrency or rateLimit/],
  ];
  for (const [name, options, message] of cases) {
    it(`refuses ${name} at definition, naming the option and the fix`, () => {
      expect(() => task(`lim_bad_${name}`, options as never, async () => 1)).toThrow(message);
    });
  }

  it("refuses a submission whose key function throws or returns no string, having written nothing", async () => {
    const throwing = task("lim_key_throws", { concurrency: { limit: 1, key: (_req: Req) => { throw new Error("no tenant"); } } }, async (_req: Req) => 1);
    const numeric = task("lim_key_number", { rateLimit: { limit: 1, periodMs: 1_000, key: (req: Req) => req.n as unknown as string } }, async (_req: Req) => 1);
    const engine = createEngine();
    expect(() => engine.submit(throwing, { tenant: "a", n: 1 })).toThrow(/the concurrency\.key function of task "lim_key_throws" threw: no tenant; make it return a string/);
    expect(() => engine.submit(numeric, { tenant: "a", n: 1 })).toThrow(/the rateLimit\.key function of task "lim_key_number" must return a string of at most 256 characters, got number/);
    expect(await engine.listRuns()).toEqual([]);
    await engine.close();
  });
});

/**
 * Two executions of `lim_pair` admitted and a third held, over a store whose every call
 * answers a turn later (so that releases running at once interleave), recording what is sent.
 */
async function pairOnLateStore() {
  const store = new FaultyStore(new MemoryExecutionStore());
  const sent: string[] = [];
  const runtime = new Runtime({ store, queue: { send: (messages) => void sent.push(...messages.map((m) => m.executionId)) }, blobs: new MemoryBlobStore(), clock: new ManualClock(), ids: cryptoIds });
  const [a, b, waiting] = [1, 2, 3].map((n) => runtime.submit(pair, n)) as [Execution<number>, Execution<number>, Execution<number>];
  await Promise.all([a.created, b.created, waiting.created]);
  return { store, sent, runtime, a, b, waiting };
}

describe("the admission protocol", () => {
  it("admits an execution whose slot freed between its first look and its note as held, so it is not stranded", async () => {
    const store = new MemoryExecutionStore();
    const inner = store.limits;
    const key = limitKey("concurrency", "lim_gate", "");
    let holder = "";
    // The holder's release lands after the first look found no room and before the note:
    // the releaser read no note, so only the second look can admit it.
    const racing: LimitStore = {
      acquire: (k, id, limit) => inner.acquire(k, id, limit),
      slots: (k, ids) => inner.slots(k, ids),
      vacate: (k, id) => inner.vacate(k, id),
      hold: (k: string, waiter: LimitWaiter) => {
        inner.vacate(k, holder);
        inner.hold(k, waiter);
      },
      unhold: (k, waiter) => inner.unhold(k, waiter),
      waiters: (k, count, after) => inner.waiters(k, count, after),
      countStart: (k, window, period, now) => inner.countStart(k, window, period, now),
    };
    Object.defineProperty(store, "limits", { value: racing });
    const sent: string[] = [];
    const runtime = new Runtime({ store, queue: { send: (messages) => void sent.push(...messages.map((m) => m.executionId)) }, blobs: new MemoryBlobStore(), clock: new ManualClock(), ids: cryptoIds });
    const first = runtime.submit(gated, 1);
    await first.created;
    holder = first.id;
    const second = runtime.submit(gated, 2);
    await second.created;
    expect(sent).toEqual([first.id, second.id]);
    // Admitted: its hold cleared, its note forgotten once its message was sent.
    expect(store.get(second.id)?.held).toBeUndefined();
    expect(inner.waiters(key, 8)).toEqual([]);
    await runtime.close();
  });

  it("sends a held execution once when releases race for it, and again only when its admitter died long ago", async () => {
    const clock = new ManualClock(1_000_000);
    const store = new MemoryExecutionStore();
    const sent: string[] = [];
    const runtime = new Runtime({ store, queue: { send: (messages) => void sent.push(...messages.map((m) => m.executionId)) }, blobs: new MemoryBlobStore(), clock, ids: cryptoIds });
    const key = limitKey("concurrency", "lim_gate", "");
    const first = runtime.submit(gated, 1);
    const second = runtime.submit(gated, 2);
    await Promise.all([first.created, second.created]);
    expect(sent).toEqual([first.id]);
    expect(store.get(second.id)?.held?.by).toBe("concurrency");
    // The holder finishes; its release and the coordinator's backstop race: one message.
    const running = await runtime.engine.claim({ executionId: first.id, taskName: "lim_gate", attempt: 1 });
    await runtime.engine.finish(running as ExecutionRecord, { type: "completed", result: "1" });
    await runtime.engine.releaseSlots([store.get(first.id) as ExecutionRecord]);
    expect(sent).toEqual([first.id, second.id]);
    expect(store.limits.waiters(key, 8)).toEqual([]);
    // An admitter that died after clearing the hold left the note and sent nothing: within a
    // minute a release leaves it (its admitter may be sending), after it sends it again.
    const third = runtime.submit(gated, 3);
    await third.created;
    const noted = store.limits.waiters(key, 8);
    expect(noted.map((w) => w.id)).toEqual([third.id]);
    store.update(third.id, { state: State.Queued }, { held: undefined, admittedAt: clock.now() });
    await runtime.engine.releaseSlots([store.get(first.id) as ExecutionRecord]);
    expect(sent).toEqual([first.id, second.id]);
    clock.advance(ADMISSION_REPAIR_MS + 1);
    const claimed = await runtime.engine.claim({ executionId: second.id, taskName: "lim_gate", attempt: 1 });
    await runtime.engine.finish(claimed as ExecutionRecord, { type: "completed", result: "2" });
    expect(sent).toEqual([first.id, second.id, third.id]);
    expect(store.limits.waiters(key, 8)).toEqual([]);
    await runtime.close();
  });

  it("sends a held execution once when two releases admit it at the same time", async () => {
    const { store, sent, runtime, a, b, waiting } = await pairOnLateStore();
    expect(sent).toEqual([a.id, b.id]);
    // Both holders end at once; their releases (every store call a turn apart) interleave.
    for (const done of [a, b]) await store.update(done.id, { state: State.Queued }, { state: State.Completed, finishedAt: 1 });
    const finished = (await store.getMany([a.id, b.id])) as ExecutionRecord[];
    await Promise.all(finished.map(async (record) => runtime.engine.releaseSlots([record])));
    expect(sent).toEqual([a.id, b.id, waiting.id]);
    await runtime.close();
  });

  it("lets a worker's release that finds its held execution taken by another release write nothing more", async () => {
    const { store, sent, runtime, a, b, waiting } = await pairOnLateStore();
    const running = await Promise.all([a, b].map(async (e) => (await runtime.engine.claim({ executionId: e.id, taskName: "lim_pair", attempt: 1 })) as ExecutionRecord));
    // Every write that admits a held execution expects its hold.
    const update = store.update.bind(store);
    let admissions = 0;
    store.update = (id, expect, changes, transition) => {
      if (expect.heldSince !== undefined) admissions += 1;
      return update(id, expect, changes, transition);
    };
    // Both end at once, every store call a turn apart: the first release takes the freed
    // slot for the held execution; the second finds it taken, a slot still free, and stops.
    await Promise.all(running.map(async (record) => runtime.engine.finish(record, { type: "completed", result: "0" })));
    expect(sent).toEqual([a.id, b.id, waiting.id]);
    expect(admissions).toBe(1);
    await runtime.close();
  });

  it("backstops a batch of finished executions with one read of their key's slots, and no write when their releases were made", async () => {
    const inner = new MemoryExecutionStore();
    const calls: string[] = [];
    const counted = new Proxy(inner.limits, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    Object.defineProperty(inner, "limits", { value: counted });
    const runtime = new Runtime({ store: inner, queue: { send: () => undefined }, blobs: new MemoryBlobStore(), clock: new ManualClock(), ids: cryptoIds });
    const executions = [1, 2, 3, 4, 5, 6].map((n) => runtime.submit(pair, n));
    await Promise.all(executions.map((e) => e.created));
    // Those admitted run and finish, oldest first (ties in the same millisecond by id).
    const admitted = () => executions.map((e) => inner.get(e.id) as ExecutionRecord).filter((r) => r.state === State.Queued && r.held === undefined);
    const done: ExecutionRecord[] = [];
    while (done.length < 4) {
      const next = admitted()[0] as ExecutionRecord;
      const running = (await runtime.engine.claim({ executionId: next.id, taskName: "lim_pair", attempt: 1 })) as ExecutionRecord;
      await runtime.engine.finish(running, { type: "completed", result: "0" });
      done.push(inner.get(next.id) as ExecutionRecord);
    }
    // Four finished, their releases made: the last two hold both slots.
    expect(admitted()).toHaveLength(2);
    calls.splice(0);
    await runtime.engine.releaseSlots(done);
    expect(calls).toEqual(["slots"]);
    // One finished whose release was not made (its worker died after its terminal write):
    // its slot is freed and nothing is held, so nothing more is read.
    const fifth = (await runtime.engine.claim({ executionId: (admitted()[0] as ExecutionRecord).id, taskName: "lim_pair", attempt: 1 })) as ExecutionRecord;
    inner.update(fifth.id, { state: State.Running }, { state: State.Completed, finishedAt: 1 });
    calls.splice(0);
    await runtime.engine.releaseSlots([...done, inner.get(fifth.id) as ExecutionRecord]);
    expect(calls).toEqual(["slots", "vacate", "waiters"]);
    await runtime.close();
  });
});
