/**
 * `debounce`, `cache` and `memo` on the embedded engine, with time from the test's clock:
 * debounced calls share the window's last call, a cached result is reused within its TTL
 * (and marked `cachedFrom` its source), memo calls share one execution per run.
 */
import { beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { State, createEngine, task, workflow, type Engine, type Execution } from "floe";
import { ManualClock } from "../support/sim-sqs.ts";

const turns = async (n = 30) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

// What the tasks below record, counted afresh for each test.
const saved: { user: string; text: string; at: number }[] = [];
let clockNow: () => number = () => 0;
let computed = 0;
let fetched = 0;
beforeEach(() => {
  saved.length = 0;
  computed = 0;
  fetched = 0;
});

/**
 * An engine whose clock starts at `start`, closed once the test ends (passed or not); the
 * debounced tasks below timestamp their calls with that clock.
 */
function engineAt(start: number): { clock: ManualClock; engine: Engine } {
  const clock = new ManualClock(start);
  const engine = createEngine({ clock });
  clockNow = () => clock.now();
  onTestFinished(() => engine.close());
  return { clock, engine };
}

// --- debounce -----------------------------------------------------------------------------

const save = task(
  "ru_save",
  { debounce: { periodMs: 5_000, key: (draft: { user: string; text: string }) => draft.user } },
  async (draft: { user: string; text: string }) => {
    saved.push({ ...draft, at: clockNow() });
    if (draft.text === "boom") throw new Error("save failed");
    return `saved ${draft.text}`;
  },
);
const capped = task("ru_capped", { debounce: { periodMs: 5_000, maxWaitMs: 8_000 } }, async (n: number) => {
  saved.push({ user: "capped", text: String(n), at: clockNow() });
  return n;
});
const editor = workflow("ru_editor", async (user: string, text: string) => {
  const draft = save.submit({ user, text });
  return draft.result();
});

describe("debounce", () => {
  it("runs the window's last call once, and every caller's execution resolves to it", async () => {
    const { clock, engine } = engineAt(1_000_000);
    const first = engine.submit(save, { user: "ada", text: "h" });
    await turns();
    clock.advance(3_000);
    const second = engine.submit(save, { user: "ada", text: "he" });
    const other = engine.submit(save, { user: "bob", text: "x" });
    await turns();
    clock.advance(3_000);
    const third = engine.submit(save, { user: "ada", text: "hey" });
    await turns();
    // 5 s after the first call, but the window was pushed by each later one.
    clock.advance(4_999);
    await turns();
    expect(saved.map((s) => s.text)).toEqual(["x"]);
    clock.advance(1);
    const results = await Promise.all([first, second, third].map((e) => e.result()));
    expect(results).toEqual(["saved hey", "saved hey", "saved hey"]);
    // bob's window (due at 1_008_000) ran when the clock passed it; ada's at its pushed time.
    expect(saved.map((s) => s.text)).toEqual(["x", "hey"]);
    expect(saved[1]?.at).toBe(1_011_000);
    expect(await other.result()).toBe("saved x");
    // The superseded calls never ran: completed forwarding to the last call's execution.
    expect(await engine.getExecution(first.id)).toMatchObject({ state: State.Completed, debounced: true, forward: second.id });
    expect(await engine.getExecution(second.id)).toMatchObject({ debounced: true, forward: third.id });
    expect((await engine.getExecution(third.id))?.debounced).toBeUndefined();
  });

  it("debounces on a clock that moves while a call is made, as a real clock does", async () => {
    // Each reading a millisecond later: the call's record is created after the call began.
    const clock = new (class extends ManualClock {
      override now(): number {
        this.advance(1);
        return super.now();
      }
    })(1_500_000);
    const engine = createEngine({ clock });
    clockNow = () => clock.now();
    onTestFinished(() => engine.close());
    const calls = [engine.submit(save, { user: "tick", text: "a" }), engine.submit(save, { user: "tick", text: "ab" })];
    await Promise.all(calls.map((call) => call.created));
    clock.advance(6_000);
    expect(await Promise.all(calls.map((call) => call.result()))).toEqual(["saved ab", "saved ab"]);
    expect(saved.map((s) => s.text)).toEqual(["ab"]);
  });

  it("gives every caller the window's failure", async () => {
    const { clock, engine } = engineAt(2_000_000);
    const a = engine.submit(save, { user: "cy", text: "fine" });
    await turns();
    const b = engine.submit(save, { user: "cy", text: "boom" });
    await turns();
    clock.advance(5_000);
    for (const execution of [a, b]) await expect(execution.result()).rejects.toThrow("save failed");
    expect(saved.map((s) => s.text)).toEqual(["boom"]);
  });

  it("opens a new window after the last one ran", async () => {
    const { clock, engine } = engineAt(3_000_000);
    const a = engine.submit(save, { user: "dee", text: "one" });
    await turns();
    clock.advance(5_000);
    expect(await a.result()).toBe("saved one");
    const b = engine.submit(save, { user: "dee", text: "two" });
    await turns();
    clock.advance(5_000);
    expect(await b.result()).toBe("saved two");
    expect(saved.map((s) => s.text)).toEqual(["one", "two"]);
  });

  it("supersedes only a queued call: one cancelled stays cancelled, and the next call runs", async () => {
    const { clock, engine } = engineAt(3_500_000);
    const a = engine.submit(save, { user: "fay", text: "one" });
    await turns();
    await a.cancel();
    const b = engine.submit(save, { user: "fay", text: "two" });
    await turns();
    clock.advance(5_000);
    expect(await b.result()).toBe("saved two");
    expect(await engine.getExecution(a.id)).toMatchObject({ state: State.Cancelled });
    expect((await engine.getExecution(a.id))?.forward).toBeUndefined();
    expect(saved.map((s) => s.text)).toEqual(["two"]);
  });

  it("never pushes the start past maxWaitMs after the window opened", async () => {
    const { clock, engine } = engineAt(4_000_000);
    const calls: Execution<number>[] = [];
    for (let i = 0; i < 5; i += 1) {
      calls.push(engine.submit(capped, i));
      await turns();
      clock.advance(2_000);
    }
    await turns();
    // Opened at 4_000_000; calls every 2 s would push it forever without the 8 s cap. The
    // call at 4_008_000 came once the window had started, so it opened the next one.
    expect(saved).toEqual([{ user: "capped", text: "3", at: 4_008_000 }]);
    clock.advance(3_000);
    expect(await Promise.all(calls.map((c) => c.result()))).toEqual([3, 3, 3, 3, 4]);
    expect(saved[1]).toEqual({ user: "capped", text: "4", at: 4_013_000 });
  });

  it("shares the window between calls made inside runs and at top level", async () => {
    const { clock, engine } = engineAt(5_000_000);
    const run = engine.submit(editor, "eve", "draft");
    await turns();
    const top = engine.submit(save, { user: "eve", text: "final" });
    await turns();
    clock.advance(5_000);
    expect(await run.result()).toBe("saved final");
    expect(await top.result()).toBe("saved final");
    expect(saved.map((s) => s.text)).toEqual(["final"]);
  });
});

// --- cache --------------------------------------------------------------------------------

const price = task("ru_price", { cache: { ttlMs: 60_000 } }, async (sku: string) => {
  computed += 1;
  return { sku, cents: sku.length * 100 };
});
const priceByTenant = task(
  "ru_price_tenant",
  { cache: { ttlMs: 60_000, key: (req: { tenant: string; at: number }) => req.tenant } },
  async (req: { tenant: string; at: number }) => {
    computed += 1;
    return `${req.tenant}@${req.at}`;
  },
);
const flaky = task("ru_flaky", { cache: true }, async (n: number) => {
  computed += 1;
  if (computed === 1) throw new Error("first call fails");
  return n * 2;
});
const quote = workflow("ru_quote", async (sku: string) => [await price(sku), await price(sku)]);

describe("cache", () => {
  it("reuses a completed result within the TTL, marked cachedFrom its source, and misses after it", async () => {
    const { clock, engine } = engineAt(10_000_000);
    const first = engine.submit(price, "abc");
    expect(await first.result()).toEqual({ sku: "abc", cents: 300 });
    clock.advance(59_999);
    const hit = engine.submit(price, "abc");
    expect(await hit.result()).toEqual({ sku: "abc", cents: 300 });
    expect(computed).toBe(1);
    expect(await engine.getExecution(hit.id)).toMatchObject({ state: State.Completed, cachedFrom: first.id });
    const other = engine.submit(price, "xy");
    expect(await other.result()).toEqual({ sku: "xy", cents: 200 });
    expect(computed).toBe(2);
    clock.advance(1);
    const miss = engine.submit(price, "abc");
    expect(await miss.result()).toEqual({ sku: "abc", cents: 300 });
    expect(computed).toBe(3);
    expect((await engine.getExecution(miss.id))?.cachedFrom).toBeUndefined();
  });

  it("reuses by the key option, and inside a run", async () => {
    const { engine } = engineAt(11_000_000);
    expect(await engine.submit(priceByTenant, { tenant: "t1", at: 1 }).result()).toBe("t1@1");
    expect(await engine.submit(priceByTenant, { tenant: "t1", at: 2 }).result()).toBe("t1@1");
    expect(await engine.submit(priceByTenant, { tenant: "t2", at: 3 }).result()).toBe("t2@3");
    expect(computed).toBe(2);
    computed = 0;
    const run = engine.submit(quote, "sku-9");
    expect(await run.result()).toEqual([{ sku: "sku-9", cents: 500 }, { sku: "sku-9", cents: 500 }]);
    expect(computed).toBe(1);
    const view = await engine.getRun(run.id);
    const prices = view!.executions.filter((e) => e.task === "ru_price");
    expect(prices.map((e) => e.cachedFrom === undefined)).toEqual([true, false]);
  });

  it("caches no failure", async () => {
    const { engine } = engineAt(12_000_000);
    await expect(engine.submit(flaky, 4).result()).rejects.toThrow("first call fails");
    expect(await engine.submit(flaky, 4).result()).toBe(8);
    expect(await engine.submit(flaky, 4).result()).toBe(8);
    expect(computed).toBe(2);
  });
});

// --- memo ---------------------------------------------------------------------------------

const fetchUser = task("ru_fetch_user", { memo: true }, async (id: string) => {
  fetched += 1;
  return { id };
});
const greet = task("ru_greet", async (id: string) => `hi ${(await fetchUser(id)).id}`);
const profile = workflow("ru_profile", async (id: string) => {
  const a = fetchUser.submit(id);
  const b = fetchUser.submit(id);
  const other = fetchUser.submit("someone-else");
  return { same: a.id === b.id, differs: a.id !== other.id, greeting: await greet(id), user: await a.result(), id: a.id };
});

describe("memo", () => {
  it("shares one execution per identical call within a run, and not across runs", async () => {
    const { engine } = engineAt(20_000_000);
    const first = await engine.submit(profile, "u1").result();
    expect(first).toMatchObject({ same: true, differs: true, greeting: "hi u1", user: { id: "u1" } });
    // u1 once (three calls in the run: two in the workflow, one in greet) and someone-else once.
    expect(fetched).toBe(2);
    const second = await engine.submit(profile, "u1").result();
    expect(fetched).toBe(4);
    expect(second.id).not.toBe(first.id);
  });
});

// --- bad options --------------------------------------------------------------------------

describe("reuse options", () => {
  const fn = async () => 1;
  it.each([
    [{ debounce: { periodMs: 10 } }, /debounce.periodMs must be between 1000/],
    [{ debounce: { periodMs: 5_000, key: "user" } }, /debounce.key must be a function of the arguments/],
    [{ debounce: { periodMs: 5_000, maxWaitMs: 1_000 } }, /debounce.maxWaitMs \(1000\) must be at least debounce.periodMs/],
    [{ debounce: { periodMs: 5_000 }, cache: true }, /debounce and cache cannot be combined/],
    [{ debounce: { periodMs: 5_000 }, inline: true }, /debounce cannot be combined with inline/],
    [{ cache: { ttlMs: -1 } }, /cache.ttlMs must be between 1000/],
    [{ cache: "yes" }, /cache must be true or \{ ttlMs, key\? \}/],
    [{ cache: { ttlMs: 5_000, ttl: 3 } }, /unknown option cache.ttl/],
    [{ memo: "yes" }, /memo must be true or false/],
  ])("refuses %j", (options, message) => {
    expect(() => task(`ru_bad_${Math.random().toString(36).slice(2, 8)}`, options as never, fn)).toThrow(message);
  });

  it("refuses memo on a workflow", () => {
    expect(() => workflow("ru_bad_memo_wf", { memo: true }, fn)).toThrow(/memo applies to calls inside a run.*put memo on the tasks/);
  });

  it("refuses a key that returns no string, and a debounced call with executions among its arguments, writing nothing", async () => {
    const { engine } = engineAt(30_000_000);
    const keyed = task("ru_bad_key", { cache: { ttlMs: 5_000, key: (n: number) => n as unknown as string } }, async (n: number) => n);
    expect(() => engine.submit(keyed, 3)).toThrow(/cache.key of "ru_bad_key" returned 3, not a string/);
    const up = engine.submit(price, "q");
    expect(() => engine.submit(save, up as never)).toThrow(/"ru_save" is debounced, and its arguments hold executions/);
    expect(() => engine.submit(save.with({ delayMs: 1_000 }), { user: "z", text: "z" })).toThrow(/its window sets its start/);
    expect((await engine.listRuns()).map((r) => r.task)).toEqual(["ru_price"]);
  });
});
