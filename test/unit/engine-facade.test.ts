/**
 * The `Engine` a user holds (`createEngine`; `startLocalCloud` returns the same facade):
 * typed `submit`, `map` and views, nothing of the runtime behind it reachable. The type
 * assertions are checked by `tsc` (`npm run typecheck`): an `@ts-expect-error` line whose
 * error disappears, or an `expectTypeOf` that no longer holds, fails the type check.
 */
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { createEngine, task, unmapped, workflow, type Engine, type Execution, type ExecutionView, type RunSummary, type RunView } from "floe";

const add = task("facade_add", async (a: number, b: number) => a + b);
const label = task("facade_label", async (n: number, unit: string) => ({ text: `${n} ${unit}`, when: new Date(n) }));
const sum = workflow("facade_sum", async (a: number, b: number) => add.submit(a, b));
const boom = task("facade_boom", { retries: 0 }, async (why: string): Promise<never> => {
  throw new RangeError(why);
});
const gate = new Map<string, () => void>();
const hang = task("facade_hang", async (key: string) => new Promise<string>((resolve) => gate.set(key, () => resolve(key))));

const engines: Engine[] = [];
function engine(): Engine {
  const created = createEngine();
  engines.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe("Engine types", () => {
  it("infers submit's arguments and result from the task, and leaves the by-name form untyped", () => {
    const e = engine();
    expectTypeOf(e.submit(add, 1, 2)).toEqualTypeOf<Execution<number>>();
    // A workflow that returns an execution resolves to that execution's result.
    expectTypeOf(e.submit(sum, 1, 2)).toEqualTypeOf<Execution<number>>();
    expectTypeOf(e.submit("facade_add", 1, 2)).toEqualTypeOf<Execution<unknown>>();
    expectTypeOf(e.map(add, [1, 2], unmapped(10))).toEqualTypeOf<Execution<number>[]>();
    // @ts-expect-error -- a string where the task takes a number
    void e.submit(add, "x", 2).result().catch(() => undefined);
    // @ts-expect-error -- too few arguments
    void e.submit(add, 1).result().catch(() => undefined);
    // @ts-expect-error -- an iterable of strings mapped over a number parameter
    e.map(add, ["x"], unmapped(1));
  });

  it("types a view's result by the execution it was asked for", () => {
    const e = engine();
    const execution = e.submit(label, 1, "kg");
    expectTypeOf(e.getExecution(execution)).toEqualTypeOf<Promise<ExecutionView<{ text: string; when: Date }> | undefined>>();
    expectTypeOf(e.getRun(execution)).toEqualTypeOf<Promise<RunView<{ text: string; when: Date }> | undefined>>();
    expectTypeOf(e.getRun(execution.id)).toEqualTypeOf<Promise<RunView | undefined>>();
    expectTypeOf(e.listRuns()).toEqualTypeOf<Promise<RunSummary[]>>();
  });
});

describe("Engine", () => {
  it("is a facade: the runtime's internals are not on it", () => {
    const e = engine() as unknown as Record<string, unknown>;
    for (const internal of ["engine", "submitWithin", "process", "dispatch", "records", "memory", "reference", "submitKeyed", "call"]) {
      expect(e[internal], internal).toBeUndefined();
    }
    expect(Object.keys(e).sort()).toEqual(["cancel", "close", "complete", "getExecution", "getLogs", "getRun", "listRuns", "map", "rerun", "submit"]);
    expect(Object.isFrozen(e)).toBe(true);
  });

  it("submits, maps and answers with the typed, decoded result", async () => {
    const e = engine();
    const total: number = await e.submit(add, 1, 2).result();
    expect(total).toBe(3);
    expect(await Promise.all(e.map(add, [1, 2, 3], unmapped(10)).map((x) => x.result()))).toEqual([11, 12, 13]);
    expect(await e.submit("facade_add", 2, 2).result()).toBe(4);
  });

  it("gives an execution's view with its arguments and result decoded, not storage fields", async () => {
    const e = engine();
    const execution = e.submit(label, 5, "kg");
    await execution.result();
    const view = await e.getExecution(execution);
    expect(view).toMatchObject({ id: execution.id, runId: execution.id, task: "facade_label", state: "completed", attempt: 1, args: [5, "kg"] });
    expect(view?.result?.when).toBeInstanceOf(Date);
    expect(view?.result?.text).toBe("5 kg");
    for (const stored of ["taskName", "generation", "guarded", "pending", "waitMode", "refs"]) expect(view).not.toHaveProperty(stored);
    expect(await e.getExecution("no-such-id")).toBeUndefined();
  });

  it("gives a failed execution's error with its stack", async () => {
    const e = engine();
    const execution = e.submit(boom, "too far");
    await execution.result({ raiseOnFailure: false });
    const view = await e.getExecution(execution.id);
    expect(view?.state).toBe("failed");
    expect(view?.error).toMatchObject({ name: "RangeError", message: "too far" });
    expect(view?.error?.stack).toContain("RangeError: too far");
  });

  it("gives a run's root the run's result, following the execution the workflow forwarded", async () => {
    const e = engine();
    const run = e.submit(sum, 20, 22);
    expect(await run.result()).toBe(42);
    const view = await e.getRun(run);
    expect(view?.root.id).toBe(run.id);
    expect(view?.root.forward).toBeDefined();
    expect(view?.root.result).toBe(42);
    expect(view?.executions.map((x) => x.task).sort()).toEqual(["facade_add", "facade_sum"]);
    expect(view?.edges).toBeDefined();
  });

  it("lists runs as summaries and cancels by execution or by id", async () => {
    const e = engine();
    const first = e.submit(hang, "a");
    const second = e.submit(hang, "b");
    await first.created;
    await second.created;
    const runs = await e.listRuns({ taskName: "facade_hang" });
    expect(runs.map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
    expect(runs[0]).not.toHaveProperty("args");
    await e.cancel(first);
    await e.cancel(second.id);
    expect(await first.state()).toBe("cancelled");
    expect(await second.state()).toBe("cancelled");
    await expect(e.cancel("no-such-id")).rejects.toMatchObject({ code: "FLOE_UNKNOWN_EXECUTION" });
  });

  it("closes on `await using`", async () => {
    const e = createEngine();
    await e[Symbol.asyncDispose]();
    expect(() => e.submit(add, 1, 2)).toThrow(expect.objectContaining({ code: "FLOE_ENGINE_CLOSED" }) as Error);
  });
});
