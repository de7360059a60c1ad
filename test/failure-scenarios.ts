/**
 * Failed attempts kept with their execution (`sdk/engine/failures.ts`), written once and
 * run over each execution store: the in-memory one and DynamoDB Local.
 */
import { describe, expect, it } from "vitest";
import { ExecutionEngine } from "../sdk/engine/execution-engine.ts";
import { FAILURES_KEPT, MESSAGE_CHARS, STACK_CHARS, STACK_CUT } from "../sdk/engine/failures.ts";
import { HISTORY_CAP } from "../sdk/engine/history.ts";
import { State, WaitMode } from "../sdk/engine/model.ts";
import type { ExecutionStore } from "../sdk/engine/ports.ts";
import { runToCompletion, setupWith, spec, type StoreFactory } from "./engine-scenarios.ts";

/** An error as a task throws it; encoded as JSON by the scenarios' policy. */
function thrown(message: string, code?: string, stack = `Error: ${message}\n    at task (file.ts:1:1)`): Error {
  return Object.assign(new Error(message), { stack, ...(code === undefined ? {} : { code }) });
}

/** Counts the store's writes, by method. */
function counting(store: ExecutionStore): { store: ExecutionStore; writes: Map<string, number> } {
  const writes = new Map<string, number>();
  const counted = new Set(["create", "update", "addEdges", "release"]);
  const proxy = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (typeof property === "string" && counted.has(property)) writes.set(property, (writes.get(property) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, writes };
}

/** The scenarios of failed attempts over a store. */
export function failureScenarios(name: string, makeStore: StoreFactory): void {
  const setup = async (retryDelays: (number | undefined)[]) => {
    const base = await setupWith(makeStore, retryDelays);
    const { store, writes } = counting(base.store);
    const engine = new ExecutionEngine({
      ...base.options,
      store,
      policy: {
        ...base.options.policy,
        encodeError: (e) => JSON.stringify({ name: (e as Error).name, message: (e as Error).message, code: (e as { code?: string }).code, stack: (e as Error).stack }),
        errorFields: (text) => JSON.parse(text) as { name: string; message: string },
      },
    });
    return { ...base, engine, writes };
  };
  /** Claims the latest message of `id` and fails that attempt with `error`. */
  const failLatest = async (ctx: Awaited<ReturnType<typeof setup>>, id: string, error: Error) => {
    const message = ctx.queue.sent.findLast((s) => s.message.executionId === id)!.message;
    const claimed = (await ctx.engine.claim(message))!;
    // A copy: the memory store hands out the record it keeps, which later writes change.
    const atClaim = structuredClone(claimed);
    ctx.writes.clear();
    await ctx.engine.finish(claimed, { type: "failed", error });
    return atClaim;
  };

  describe(`failed attempts over ${name}`, () => {
    it("keeps each failed attempt's error and times with the execution, in the one write that ends the attempt", async () => {
      const ctx = await setup([1, 1]);
      await ctx.engine.register(spec("a"));
      const first = await failLatest(ctx, "a", Object.assign(new Error('"a" ran past its timeoutMs of 30000 ms'), { name: "TimeoutError", code: "FLOE_TIMEOUT" }));
      // The retry's write carries the failure: no write of its own.
      expect(Object.fromEntries(ctx.writes)).toEqual({ update: 1 });
      const second = await failLatest(ctx, "a", thrown("503 from gateway"));
      expect(Object.fromEntries(ctx.writes)).toEqual({ update: 1 });
      const message = ctx.queue.sent.findLast((s) => s.message.executionId === "a")!.message;
      await ctx.engine.finish((await ctx.engine.claim(message))!, { type: "completed", result: "[1]" });
      const record = (await ctx.store.get("a"))!;
      expect(record).toMatchObject({ state: State.Completed, attempt: 3 });
      expect(record.earlierFailures).toBeUndefined();
      expect(record.failures).toEqual([
        {
          attempt: 1,
          startedAt: first.startedAt,
          finishedAt: expect.any(Number),
          error: { name: "TimeoutError", message: '"a" ran past its timeoutMs of 30000 ms', code: "FLOE_TIMEOUT", stack: expect.stringContaining("TimeoutError") },
        },
        { attempt: 2, startedAt: second.startedAt, finishedAt: expect.any(Number), error: { name: "Error", message: "503 from gateway", stack: "Error: 503 from gateway\n    at task (file.ts:1:1)" } },
      ]);
      const [one, two] = record.failures!;
      expect(one!.finishedAt).toBeGreaterThan(first.startedAt!);
      expect(two!.startedAt).toBeGreaterThan(one!.finishedAt);
    });

    it("keeps the final failure with the earlier ones, in the write that fails the execution", async () => {
      const ctx = await setup([1]);
      await ctx.engine.register(spec("a"));
      await failLatest(ctx, "a", thrown("one"));
      await failLatest(ctx, "a", thrown("two", "E_TWO"));
      expect(Object.fromEntries(ctx.writes)).toEqual({ update: 1 });
      const record = (await ctx.store.get("a"))!;
      expect(record.state).toBe(State.Failed);
      expect(record.failures?.map((f) => [f.attempt, f.error.message, f.error.code])).toEqual([
        [1, "one", undefined],
        [2, "two", "E_TWO"],
      ]);
      expect(record.failures?.[1]?.finishedAt).toBe(record.finishedAt);
    });

    it(`keeps the latest ${FAILURES_KEPT} failures and counts the earlier ones`, async () => {
      const attempts = FAILURES_KEPT + 3;
      const ctx = await setup(Array.from({ length: attempts }, () => 1));
      await ctx.engine.register(spec("a"));
      for (let i = 1; i <= attempts; i += 1) await failLatest(ctx, "a", thrown(`failure ${i}`));
      const record = (await ctx.store.get("a"))!;
      expect(record.state).toBe(State.Queued);
      expect(record.failures?.map((f) => f.attempt)).toEqual(Array.from({ length: FAILURES_KEPT }, (_, i) => attempts - FAILURES_KEPT + 1 + i));
      expect(record.earlierFailures).toBe(attempts - FAILURES_KEPT);
    });

    it("cuts a long message and stack to the lengths kept, and says so", async () => {
      const ctx = await setup([1]);
      await ctx.engine.register(spec("a"));
      const frames = Array.from({ length: 200 }, (_, i) => `    at frame${i} (file.ts:${i}:1)`).join("\n");
      await failLatest(ctx, "a", thrown("m".repeat(10_000), undefined, `Error: long\n${frames}`));
      const [failure] = (await ctx.store.get("a"))!.failures!;
      expect(failure!.error.truncated).toBe(true);
      expect(failure!.error.message).toHaveLength(MESSAGE_CHARS);
      expect(failure!.error.message.endsWith("…")).toBe(true);
      // Whole lines: the first frames, then a line that says the rest is gone.
      const lines = failure!.error.stack!.split("\n");
      expect(failure!.error.stack!.length).toBeLessThanOrEqual(STACK_CHARS);
      expect(lines.at(-2)).toMatch(/^ {4}at frame\d+ \(file\.ts:\d+:1\)$/);
      expect(`\n${lines.at(-1)}`).toBe(STACK_CUT);
      // The whole error stays in the record's error, in the blob store when large.
      expect((await ctx.store.get("a"))!.error).toMatchObject({ blob: "a/error/1" });
    });

    it("keeps the failures of an execution whose history is compacted", async () => {
      const ctx = await setup([1, 1]);
      await ctx.engine.register(spec("p"));
      await failLatest(ctx, "p", thrown("before the chain"));
      // Re-runs after suspensions fill the history past its cap, which compacts it.
      for (let i = 0; i < HISTORY_CAP; i += 1) {
        const message = ctx.queue.sent.findLast((s) => s.message.executionId === "p")!.message;
        const running = (await ctx.engine.claim(message))!;
        await ctx.engine.register(spec(`c${i}`));
        await ctx.engine.finish(running, { type: "suspended", on: [`c${i}`], mode: WaitMode.All });
        await runToCompletion(ctx.engine, ctx.queue, `c${i}`);
      }
      await failLatest(ctx, "p", thrown("after the chain"));
      const record = (await ctx.store.get("p"))!;
      expect(record.history.some((t) => t.folded !== undefined)).toBe(true);
      expect(record.failures?.map((f) => [f.attempt, f.error.message])).toEqual([
        [1, "before the chain"],
        [2, "after the chain"],
      ]);
    });

    it("keeps a wait cycle's failure as the suspended attempt's", async () => {
      const ctx = await setup([]);
      await ctx.engine.register(spec("a"));
      await ctx.engine.register(spec("b"));
      const a = (await ctx.engine.claim(ctx.queue.sent[0]!.message))!;
      const b = (await ctx.engine.claim(ctx.queue.sent[1]!.message))!;
      await ctx.engine.finish(a, { type: "suspended", on: ["b"], mode: WaitMode.All });
      await ctx.engine.finish(b, { type: "suspended", on: ["a"], mode: WaitMode.All });
      const failed = (await ctx.store.getMany(["a", "b"])).filter((r) => r?.state === State.Failed);
      expect(failed.length).toBeGreaterThan(0);
      for (const record of failed) {
        expect(record!.failures).toEqual([
          { attempt: 1, startedAt: expect.any(Number), finishedAt: record!.finishedAt, error: expect.objectContaining({ code: "FLOE_WAIT_CYCLE" }) },
        ]);
      }
    });
  });
}
