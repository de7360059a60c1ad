/**
 * `debounce`, `cache` and `memo` on the local cloud: the real task handlers, one runtime
 * per function, over DynamoDB Local and the SQS server. A cache hit is answered where the
 * call is made, with no message and no invocation of the cached task's function. A
 * debounced window passes on a clock the test jumps, its messages' delays taken off (SQS
 * delays in real time): one that comes before its window ends is sent again, as it would
 * be after a clock skew.
 */
import { describe, expect, it } from "vitest";
import { task, taskContext, workflow } from "floe";
import { localCloudsForFile } from "../support/file-emulators.ts";
import { JumpClock, countSends } from "../support/jump-clock.ts";

const clouds = localCloudsForFile("reuse");
const start = () => clouds.start();

const DEBOUNCE_MS = 60_000;
const note = task("rlc_note", { debounce: { periodMs: DEBOUNCE_MS, key: (doc: { id: string; text: string }) => doc.id } }, async (doc: { id: string; text: string }) => {
  // The attempt in the result: the function runs in a runtime of its own, where a counter
  // in this file would count nothing.
  return `saved ${doc.text} (attempt ${taskContext()?.attempt ?? 0})`;
});

const quote = task("rlc_quote", { cache: { ttlMs: 3_600_000 } }, async (sku: string) => ({ sku, cents: sku.length * 100 }));
const profile = task("rlc_profile", { memo: true }, async (id: string) => `profile ${id}`);
const page = task("rlc_page", async (id: string) => `page of ${await profile(id)}`);
const site = workflow("rlc_site", async (id: string) => {
  const own = await profile(id);
  const pages = await Promise.all([page(id), page(id)]);
  return [own, ...pages];
});

describe("reuse on the local cloud", () => {
  it("runs a debounced window's last call once, through the task's function, and every caller's execution resolves to it", async () => {
    const clock = new JumpClock();
    const sends = new Map<number, number>();
    const { runtime, invocations } = await clouds.start({ clock, instrument: ({ sqs }) => countSends(sqs, sends, () => undefined) });
    const calls = [];
    for (const text of ["a", "ab", "abc"]) {
      const call = runtime.submit(note, { id: "n1", text });
      await call.created;
      calls.push(call);
    }
    // Each call's message is delayed to its own window's end; a later call supersedes the
    // earlier one, whose message then finds it finished.
    expect(sends.get(DEBOUNCE_MS / 1000)).toBe(3);
    // Nothing runs before the window ends: its message comes early and goes back.
    expect((await runtime.getExecution(calls[2]!.id))?.state).toBe("queued");
    clock.jump(DEBOUNCE_MS + 1_000);
    expect(await Promise.all(calls.map(async (call) => call.result()))).toEqual(Array.from({ length: 3 }, () => "saved abc (attempt 1)"));
    const records = await Promise.all(calls.map(async (call) => runtime.getExecution(call.id)));
    expect(records.map((r) => [r?.state, r?.debounced === true])).toEqual([
      ["completed", true],
      ["completed", true],
      ["completed", false],
    ]);
    expect(invocations.get("worker:rlc_note")).toBeGreaterThanOrEqual(1);
    // A call after the window's execution started opens a new window.
    const later = runtime.submit(note, { id: "n1", text: "z" });
    await later.created;
    clock.jump(DEBOUNCE_MS + 1_000);
    expect(await later.result()).toBe("saved z (attempt 1)");
  });

  it("serves a cached result without invoking the task's function, linked to its source", async () => {
    const { runtime, invocations } = await start();
    const source = runtime.submit(quote, "sku-1");
    expect(await source.result()).toEqual({ sku: "sku-1", cents: 500 });
    const invoked = invocations.get("worker:rlc_quote");
    const hit = runtime.submit(quote, "sku-1");
    expect(await hit.result()).toEqual({ sku: "sku-1", cents: 500 });
    expect(await runtime.getExecution(hit.id)).toMatchObject({ state: "completed", cachedFrom: source.id });
    // The coordinator sees every terminal transition on the stream; the task's function is not invoked again.
    expect(invocations.get("worker:rlc_quote")).toBe(invoked);
  });

  it("runs a memo call once per run across the run's tasks", async () => {
    const { runtime } = await start();
    const run = runtime.submit(site, "u7");
    expect(await run.result()).toEqual(["profile u7", "page of profile u7", "page of profile u7"]);
    const view = await runtime.getRun(run.id);
    expect(view?.executions.filter((e) => e.taskName === "rlc_profile")).toHaveLength(1);
  });
});
