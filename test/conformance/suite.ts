/**
 * The semantics of DESIGN section 1, written once and run against every backend: the
 * embedded engine (waiting in process, and suspending on every wait as the cloud does)
 * and, from the AWS code path on, the local cloud.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Execution, State, type Engine, type ExecutionView, type RunView } from "floe";
import { engineOf } from "../../sdk/api/engine.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { counted, openLatch, peak, unique } from "./probes.ts";
import { hostileKinds, readAs } from "../support/hostile-values.ts";
import * as t from "./tasks.ts";

/** A backend under test. */
export interface Backend {
  readonly name: string;
  /** A fresh engine's runtime; the suite tests its public facade, and closes it after each test. */
  create(options: { readonly concurrency?: number }): Runtime | Promise<Runtime>;
  /** Whether the backend re-runs a task from the start when it waits (suspension). */
  readonly suspends: boolean;
}

const terminal: readonly string[] = [State.Completed, State.Failed, State.Cancelled];

/** Polls a run until every execution in it is terminal. */
export async function settledRun(engine: Engine, runId: string, timeoutMs = 10_000): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await engine.getRun(runId);
    if (run !== undefined && run.executions.every((e) => terminal.includes(e.state))) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not settle: ${JSON.stringify(run?.executions.map((e) => [e.task, e.state]))}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Polls a run until `count` of its executions of `taskName` have completed. */
async function untilCompleted(engine: Engine, runId: string, taskName: string, timeoutMs = 10_000, count = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await engine.getRun(runId);
    const done = run?.executions.filter((e) => e.task === taskName && e.state === State.Completed).length ?? 0;
    if (done >= count) return;
    if (Date.now() > deadline) throw new Error(`${taskName} did not complete in run ${runId}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function byTask(run: RunView, name: string): ExecutionView[] {
  return run.executions.filter((e) => e.task === name);
}

function only(run: RunView, name: string): ExecutionView {
  const [found, extra] = byTask(run, name);
  if (found === undefined || extra !== undefined) throw new Error(`expected one ${name} in the run, found ${byTask(run, name).length}`);
  return found;
}

function startsOf(record: ExecutionView): number[] {
  return record.history.filter((h) => h.state === State.Running).map((h) => h.at);
}

/**
 * An `engine()` for the tests of the `describe` it is called in: it makes engines with
 * `create` and closes each after its test.
 */
export function closedAfterEach(create: (options: { concurrency?: number }) => Runtime | Promise<Runtime>): (options?: { concurrency?: number }) => Promise<Engine> {
  let engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(engines.map((e) => e.close()));
    engines = [];
  });
  return async (options = {}) => {
    const runtime = await create(options);
    const created = engineOf(runtime);
    runtimes.set(created, runtime);
    engines.push(created);
    return created;
  };
}

const runtimes = new WeakMap<Engine, Runtime>();

/** The runtime behind an engine `closedAfterEach` made: for what only its storage shows. */
export function runtimeOf(engine: Engine): Runtime {
  const runtime = runtimes.get(engine);
  if (runtime === undefined) throw new Error("this engine was not made by closedAfterEach");
  return runtime;
}

/** Defines the conformance suite for `backend`. */
export function conformance(backend: Backend): void {
  describe(`conformance: ${backend.name}`, () => {
    const engine = closedAfterEach((options) => backend.create(options));

    describe("calling and submitting", () => {
      it("gives the same result for a direct call and for submit followed by result", async () => {
        const e = await engine();
        const run = e.submit(t.callVsSubmit, 21);
        expect(await run.result()).toEqual({ called: 42, submitted: 42 });
        const view = await settledRun(e, run.id);
        expect(byTask(view, "c_double").map((r) => r.state)).toEqual([State.Completed, State.Completed]);
      });

      it("returns an execution synchronously, before the task has run, and it is not a thenable", async () => {
        const e = await engine();
        const gate = unique("gate");
        const execution = e.submit(t.gated, gate, "v");
        expect(execution).toBeInstanceOf(Execution);
        expect(typeof execution.id).toBe("string");
        expect("then" in execution).toBe(false);
        expect([State.Queued, State.Running]).toContain(await execution.state());
        openLatch(gate);
        expect(await execution.result()).toBe("v");
        expect(await execution.state()).toBe(State.Completed);
      });

      it("throws the task's error from result(), with name, message, stack, code and cause", async () => {
        const e = await engine();
        const execution = e.submit(t.failing, "bad input");
        const error = await execution.result().then(
          () => undefined,
          (err: unknown) => err as Error & { code?: string },
        );
        expect(error).toBeInstanceOf(Error);
        expect(error?.name).toBe("ValidationError");
        expect(error?.message).toBe("bad input");
        expect(error?.code).toBe("E_INVALID");
        expect(error?.stack).toContain("ValidationError: bad input");
        expect((error?.cause as Error).message).toBe("the root cause");
        expect(await execution.state()).toBe(State.Failed);
      });

      it("returns the error instead of throwing with raiseOnFailure: false", async () => {
        const e = await engine();
        const outcome = await e.submit(t.failing, "soft").result({ raiseOnFailure: false });
        expect(outcome).toBeInstanceOf(Error);
        expect((outcome as Error).message).toBe("soft");
      });

      it("fails with a readable error, its code kept where readable, whatever the task throws; nothing stays running (T24)", async () => {
        const e = await engine();
        const runs = hostileKinds.map((kind) => ({ kind, execution: e.submit(t.throwsHostile, kind) }));
        for (const { kind, execution } of runs) {
          const error = (await execution.result({ raiseOnFailure: false })) as Error & { code?: string };
          expect(error, kind).toBeInstanceOf(Error);
          expect(error.message, kind).toMatch(readAs[kind].message);
          expect(error.code, kind).toBe(readAs[kind].code);
          const { root } = await settledRun(e, execution.id);
          expect([root.state, root.attempt], kind).toEqual([State.Failed, 2]);
        }
        // Eight retries delayed on SQS (a second at least) take most of the default limit on a busy host.
      }, 60_000);

      it("passes executions as arguments, directly and nested in arrays and objects, and records the edges", async () => {
        const e = await engine();
        const run = e.submit(t.passExecutions);
        expect(await run.result()).toEqual({ directIsExecution: true, values: [2, 4, 6, 8] });
        const view = await settledRun(e, run.id);
        const inspect = only(view, "c_inspect_args");
        const upstreams = view.edges.filter((edge) => edge.downstreamId === inspect.id && edge.kind === "argument");
        expect(new Set(upstreams.map((edge) => edge.upstreamId))).toEqual(new Set(byTask(view, "c_double").map((d) => d.id)));
      });

      it("forwards a returned execution without waiting for it; result() follows the reference", async () => {
        const e = await engine();
        const run = e.submit(t.forwarding, 5);
        expect(await run.result()).toBe(10);
        const view = await settledRun(e, run.id);
        expect(view.root.forward).toBe(only(view, "c_double").id);
      });

      it("round-trips Date, BigInt, Map, Set, Uint8Array, undefined and errors through arguments and results", async () => {
        const e = await engine();
        const value = {
          when: new Date("2026-01-02T03:04:05.000Z"),
          big: 2n ** 70n,
          map: new Map([["k", new Set([1, 2])]]),
          bytes: new Uint8Array([1, 2, 255]),
          nothing: undefined,
          error: new RangeError("out of range"),
        };
        const echoed = (await e.submit(t.echo, value).result()) as typeof value;
        expect(echoed.when).toEqual(value.when);
        expect(echoed.big).toBe(value.big);
        expect(echoed.map).toEqual(value.map);
        expect(echoed.bytes).toEqual(value.bytes);
        expect("nothing" in echoed && echoed.nothing === undefined).toBe(true);
        expect(echoed.error).toBeInstanceOf(Error);
        expect(echoed.error.name).toBe("RangeError");
      });

      it("keeps large results outside the record and returns them whole", async () => {
        const e = await engine();
        const execution = e.submit(t.big, 100_000);
        expect(await execution.result()).toHaveLength(100_000);
        const record = await runtimeOf(e).getExecution(execution.id);
        expect(record?.result !== undefined && "blob" in record.result).toBe(true);
      });
    });

    describe("waiting", () => {
      const downstreamOf: Record<string, string | undefined> = {
        none: "c_no_wait",
        second: "c_wait_second",
        product: "c_wait_product",
      };
      const startStates = async (variant: "all" | "none" | "second" | "product", open: "a" | "b") => {
        const e = await engine();
        const [gateA, gateB] = [unique("a"), unique("b")];
        const run = e.submit(t.waitingWorkflow, variant, gateA, gateB);
        openLatch(open === "a" ? gateA : gateB);
        // A downstream that need not wait for the other gate must finish while it is shut.
        const downstream = downstreamOf[variant];
        if (downstream !== undefined) await untilCompleted(e, run.id, downstream);
        openLatch(open === "a" ? gateB : gateA);
        const states = (await run.result()) as string[];
        return { states, view: await settledRun(e, run.id) };
      };

      it("starts a wait: true task only after every execution argument has finished", async () => {
        const { states, view } = await startStates("all", "a");
        expect(states).toEqual([State.Completed, State.Completed]);
        const downstream = only(view, "c_wait_all");
        expect(downstream.history[0]?.state).toBe(State.Waiting);
        const lastUpstream = Math.max(...byTask(view, "c_gated").map((g) => g.finishedAt ?? Infinity));
        expect(downstream.startedAt).toBeGreaterThanOrEqual(lastUpstream);
      });

      it("starts a task without wait at once, while its upstreams still run", async () => {
        const { states } = await startStates("none", "a");
        expect(states.some((s) => s !== State.Completed)).toBe(true);
      });

      it("waits only for the argument positions named in wait", async () => {
        const { states } = await startStates("second", "b");
        expect(states[1]).toBe(State.Completed);
        expect(states[0]).not.toBe(State.Completed);
      });

      it("waits only for the properties named in wait of a single object argument", async () => {
        const { states } = await startStates("product", "b");
        expect(states[1]).toBe(State.Completed);
        expect(states[0]).not.toBe(State.Completed);
      });

      it("releases a waiting downstream of a failed upstream, which then sees the error", async () => {
        const e = await engine();
        const upstream = e.submit(t.failing, "upstream broke");
        expect(await e.submit(t.downstreamOf, upstream).result()).toBe("saw ValidationError");
      });

      it("wait() returns once every execution has finished", async () => {
        const e = await engine();
        const gate = unique("gate");
        const run = e.submit(t.waitHelper, gate);
        openLatch(gate);
        expect(await run.result()).toEqual([State.Completed, State.Completed, State.Completed]);
      });

      it("asCompleted() yields executions in the order they finish", async () => {
        const e = await engine();
        const gates = [unique("g0"), unique("g1"), unique("g2")];
        const run = e.submit(t.completionOrder, gates);
        // Finish them in the order 1, 2, 0, each once the one before has completed and in a
        // later millisecond (finish times are what the order is read from).
        for (const [n, index] of [1, 2, 0].entries()) {
          openLatch(gates[index]!);
          await untilCompleted(e, run.id, "c_gated", 10_000, n + 1);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        expect(await run.result()).toEqual([1, 2, 0]);
      });

      it("maps over iterables with unmapped() arguments passed to every call", async () => {
        const e = await engine();
        const run = e.submit(t.mapped, [1, 2, 3], 10);
        expect(await run.result()).toEqual([11, 12, 13]);
        expect(byTask(await settledRun(e, run.id), "c_add")).toHaveLength(3);
      });

      it("starts a wait:true task given two handles of one execution once that execution finishes", async () => {
        const e = await engine();
        expect(await e.submit(t.twoHandles).result()).toBe(6);
      });
    });

    describe("fire-and-forget", () => {
      it("runs an execution nobody awaits to completion and keeps it in the run's history", async () => {
        const e = await engine();
        const key = unique("notify");
        const run = e.submit(t.placeOrder, key, false);
        expect(await run.result()).toBe("accepted");
        const view = await settledRun(e, run.id);
        expect(only(view, "c_notify").state).toBe(State.Completed);
        expect(counted(key)).toBe(1);
      });

      it("retries an execution nobody awaits when it fails", async () => {
        const e = await engine();
        const key = unique("notify");
        const run = e.submit(t.placeOrder, key, true);
        await run.result();
        const notification = only(await settledRun(e, run.id), "c_notify");
        expect(notification.state).toBe(State.Completed);
        expect(notification.attempt).toBe(2);
      });
    });

    describe("retries and timeouts", () => {
      it("retries a failing task with exponential backoff until it succeeds", async () => {
        const e = await engine();
        const key = unique("flaky");
        const execution = e.submit(t.flaky, key, 3);
        expect(await execution.result()).toBe(3);
        const record = await e.getExecution(execution.id);
        const starts = startsOf(record!);
        expect(starts).toHaveLength(3);
        expect(counted(key)).toBe(3);
        // A charge retried after a failure must reuse its key: every attempt sees the execution's id.
        expect(t.idempotencyKeys.get(key)).toEqual([execution.id, execution.id, execution.id]);
        // Backoff 20 ms then 40 ms: each retry starts no earlier than its delay allows.
        expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(20);
        expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(40);
      });

      it("fails at once on NonRetriableError, whatever the retries left", async () => {
        const e = await engine();
        const key = unique("declined");
        const error = (await e.submit(t.neverRetried, key).result({ raiseOnFailure: false })) as Error;
        expect(error.message).toBe("the card was declined");
        expect(counted(key)).toBe(1);
      });

      it("retries after the delay a RetryAfterError asks for", async () => {
        const e = await engine();
        const key = unique("limited");
        const execution = e.submit(t.retryAfter, key);
        expect(await execution.result()).toBe("ok");
        const starts = startsOf((await e.getExecution(execution.id))!);
        expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(30);
      });

      it("retries only the errors retryOn names", async () => {
        const e = await engine();
        const [throttled, invalid] = [unique("throttled"), unique("invalid")];
        await e.submit(t.selective, throttled, "ThrottlingError").result({ raiseOnFailure: false });
        await e.submit(t.selective, invalid, "ValidationError").result({ raiseOnFailure: false });
        expect(counted(throttled)).toBe(4);
        expect(counted(invalid)).toBe(1);
      });

      it("fails an attempt that runs past timeoutMs with FLOE_TIMEOUT", async () => {
        const e = await engine();
        const error = (await e.submit(t.slow, unique("slow"), 500).result({ raiseOnFailure: false })) as Error & { code: string };
        expect(error.code).toBe("FLOE_TIMEOUT");
        expect(error.message).toContain("30 ms");
      });

      it("retries a timed-out attempt when retries are left", async () => {
        const e = await engine();
        expect(await e.submit(t.slowRetried, unique("slow")).result()).toBe(2);
      });
    });

    describe("cancellation", () => {
      it("cancels an execution and, recursively, everything under it", async () => {
        const e = await engine();
        const gate = unique("gate");
        const run = e.submit(t.cancellable, gate);
        let view: RunView | undefined;
        // Cancel once the grandchild exists, so the recursion has three levels to cover.
        for (let i = 0; i < 400 && (view === undefined || byTask(view, "c_gated").length < 3); i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          view = await e.getRun(run.id);
        }
        await run.cancel();
        openLatch(gate);
        const error = (await run.result({ raiseOnFailure: false })) as Error & { code: string };
        expect(error.code).toBe("FLOE_CANCELLED");
        const settled = await settledRun(e, run.id);
        expect(settled.executions.map((x) => x.state)).toEqual(settled.executions.map(() => State.Cancelled));
        expect(settled.executions).toHaveLength(5);
      });

      it("releases the dependents of a cancelled execution, which see the cancellation", async () => {
        const e = await engine();
        const gate = unique("gate");
        const upstream = e.submit(t.gated, gate, 1);
        const downstream = e.submit(t.downstreamOf, upstream);
        await upstream.cancel();
        expect(await downstream.result()).toBe("saw CancelledError");
        openLatch(gate);
      });
    });

    describe("concurrency", () => {
      it("runs no more tasks at once than the engine's concurrency", async () => {
        const e = await engine({ concurrency: 3 });
        const gauge = unique("gauge");
        // Tasks long enough that a backend which polls its queues (the local cloud) has
        // three running at once: the limit must be reached, not only respected.
        expect(await e.submit(t.fanOut, gauge, 9, 250).result()).toBe(9);
        expect(peak(gauge)).toBe(3);
      });

      it("never deadlocks on nested waits, even at a concurrency of 1", async () => {
        const e = await engine({ concurrency: 1 });
        expect(await e.submit(t.depth, 5).result()).toBe(5);
      });

      it("follows a forward found after a wait without holding a slot or exceeding the limit", async () => {
        const e = await engine({ concurrency: 1 });
        const gauge = unique("relay");
        expect(await e.submit(t.awaitsRelay, gauge).result()).toBe("done");
        expect(peak(gauge)).toBe(1);
      });
    });

    describe("child identity and re-runs", () => {
      it("runs each child once although the parent waits on them one after another", async () => {
        const e = await engine();
        const key = unique("seq");
        const run = e.submit(t.sequential, key);
        expect(await run.result()).toBe(6);
        expect(counted(`${key}-child`)).toBe(3);
        expect(byTask(await settledRun(e, run.id), "c_counted")).toHaveLength(3);
        // A backend that suspends re-runs the parent once per wait; children are found, not recreated.
        expect(counted(key)).toBe(backend.suspends ? 4 : 1);
      });

      it("finds the children a retried parent already created, even when it submits them in another order", async () => {
        const e = await engine();
        const key = unique("reorder");
        const run = e.submit(t.reordering, key);
        expect(await run.result()).toEqual([2, 1]);
        expect(counted(`${key}-child`)).toBe(2);
        expect(byTask(await settledRun(e, run.id), "c_counted")).toHaveLength(2);
      });

      it("creates new children when a re-run makes different calls, and keeps the earlier ones", async () => {
        const e = await engine();
        const key = unique("change");
        const run = e.submit(t.changing, key);
        expect(await run.result()).toBe(20);
        const children = byTask(await settledRun(e, run.id), "c_counted");
        expect(children).toHaveLength(2);
        expect(children.every((c) => c.state === State.Completed)).toBe(true);
      });

      it("gives identical calls within one parent distinct executions", async () => {
        const e = await engine();
        const key = unique("same");
        const run = e.submit(t.identical, key);
        expect(await run.result()).toEqual([7, 7, 7]);
        expect(counted(`${key}-child`)).toBe(3);
      });
    });

    describe("run history", () => {
      it("records every execution of a run, its parent and the time of each transition", async () => {
        const e = await engine();
        const run = e.submit(t.passExecutions);
        await run.result();
        const view = await settledRun(e, run.id);
        expect(view.id).toBe(run.id);
        expect(view.executions).toHaveLength(6);
        for (const record of view.executions) {
          expect(record.runId).toBe(run.id);
          if (record.id !== run.id) expect(record.parentId).toBe(run.id);
          expect(record.createdAt).toBeLessThanOrEqual(record.startedAt!);
          expect(record.startedAt).toBeLessThanOrEqual(record.finishedAt!);
          expect(record.history.at(-1)?.state).toBe(State.Completed);
        }
        expect((await e.listRuns()).map((r) => r.id)).toContain(run.id);
      });
    });
  });
}
