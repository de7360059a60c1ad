/**
 * Executions that forward to or wait on each other (RELIABILITY T25), built the ways user
 * code can: a task holds its own handle (or a sibling's) through a closure set after the
 * submission, or through `engine.reference(taskContext().executionId)`. Arguments cannot
 * make a cycle: they are encoded when the task is submitted, before any later execution
 * exists, and a cloud worker shares no memory with the submitter.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, State, task, taskContext, workflow, type Execution } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import type { Clock } from "../../sdk/engine/ports.ts";
import { handleRequest } from "../../sdk/http/routes.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** Handles the tasks return or await, by key: set by the test right after submitting. */
const held = new Map<string, Execution<unknown>>();
let current: EmbeddedEngine;

const returnsHeld = task("cy_returns_held", { retries: 2 }, async (key: string) => held.get(key));
const returnsItself = task("cy_returns_itself", { retries: 2 }, async () => current.reference(taskContext()!.executionId));
const awaitsHeld = workflow("cy_awaits_held", async (key: string) => held.get(key)!.result());
const awaitsHeldWithTimeout = task("cy_awaits_held_timeout", { timeoutMs: 60_000 }, async (key: string) => held.get(key)!.result());
const awaitsHeldRetried = task("cy_awaits_held_retried", { retries: 2 }, async (key: string) => held.get(key)!.result());
const awaitsItself = task("cy_awaits_itself", { retries: 2 }, async () => current.reference(taskContext()!.executionId).result());
/** Forwards to a chain of `n` more of itself: the last returns a value. */
const forwardChain = task("cy_forward_chain", async (n: number): Promise<unknown> => (n === 0 ? "end of chain" : forwardChain.submit(n - 1)));

const engines: EmbeddedEngine[] = [];
afterEach(async () => {
  held.clear();
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function settled(engine: EmbeddedEngine, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < 1_000; i += 1) {
    const records = await Promise.all(ids.map((id) => engine.getExecution(id)));
    if (records.every((r) => r !== undefined && [State.Completed, State.Failed, State.Cancelled].includes(r.state as never))) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`${ids.join(", ")} did not settle`);
}

for (const suspendAfterMs of [undefined, 0]) {
  describe(`forward cycles (T25), ${suspendAfterMs === undefined ? "waiting in process" : "suspending on every wait"}`, () => {
    const engine = (clock?: Clock): EmbeddedEngine => {
      current = createEmbeddedRuntime({ suspendAfterMs, ...(clock === undefined ? {} : { clock }) });
      engines.push(current);
      return current;
    };

    it("fails a task that returns its own execution with FLOE_FORWARD_CYCLE, without retrying", async () => {
      const e = engine();
      const byReference = e.submit(returnsItself);
      const byClosure = e.submit(returnsHeld, "self");
      held.set("self", byClosure);
      for (const execution of [byReference, byClosure]) {
        const error = (await execution.result({ raiseOnFailure: false })) as Error & { code?: string };
        expect(error.code).toBe(ErrorCode.ForwardCycle);
        expect(error.message).toBe(
          `execution ${execution.id} returned its own execution, so its result would be itself and could never be known; ` +
            "return a value, or the execution of another task",
        );
        const record = await e.getExecution(execution.id);
        expect([record?.state, record?.attempt]).toEqual([State.Failed, 1]);
      }
    });

    it("reports two executions that forward to each other from result(), inside a task and over HTTP, and keeps the event loop free", async () => {
      const e = engine();
      const a = e.submit(returnsHeld, "b");
      const b = e.submit(returnsHeld, "a");
      held.set("a", a);
      held.set("b", b);
      await settled(e, [a.id, b.id]);
      const error = (await a.result({ raiseOnFailure: false })) as Error & { code?: string };
      expect(error.code).toBe(ErrorCode.ForwardCycle);
      expect(error.message).toBe(
        `the result of execution ${a.id} is forwarded in a cycle (${a.id} → ${b.id} → ${a.id}): each returned the ` +
          "execution of the next, so none has a result; make one of them return a value",
      );
      await expect(b.result()).rejects.toMatchObject({ code: ErrorCode.ForwardCycle });
      // A workflow awaiting the cycle fails with the same error.
      const awaiting = e.submit(awaitsHeld, "a");
      await expect(awaiting.result()).rejects.toMatchObject({ code: ErrorCode.ForwardCycle });
      const response = await handleRequest(e, { method: "GET", path: `/executions/${a.id}/result`, query: {}, headers: {}, body: undefined, caller: "local" });
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ error: { code: ErrorCode.ForwardCycle, message: error.message } });
    });

    it("follows a long chain of forwards to its value, letting the event loop run between hops", async () => {
      const e = engine();
      const chain = e.submit(forwardChain, 200);
      expect(await chain.result()).toBe("end of chain");
      // Read again, every record finished: only the hops are left, over a store that answers at once.
      const ticked = new Promise((resolve) => setImmediate(resolve)).then(() => "the event loop ran");
      const first = await Promise.race([chain.result(), ticked]);
      expect(first).toBe("the event loop ran");
      expect(await chain.result()).toBe("end of chain");
      const response = await handleRequest(e, { method: "GET", path: `/executions/${chain.id}/result`, query: {}, headers: {}, body: undefined, caller: "local" });
      expect(response).toMatchObject({ status: 200, body: { state: State.Completed, result: "end of chain" } });
    });
  });
}

describe("wait cycles (T25)", () => {
  it("ends two tasks awaiting each other's results, in process, by their timeouts", async () => {
    const clock = new ManualClock();
    const e = createEmbeddedRuntime({ clock });
    engines.push(e);
    const a = e.submit(awaitsHeldWithTimeout, "b");
    const b = e.submit(awaitsHeldWithTimeout, "a");
    held.set("a", a);
    held.set("b", b);
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect([(await a.state()), (await b.state())]).toEqual([State.Running, State.Running]);
    clock.advance(60_000);
    for (const execution of [a, b]) {
      await expect(execution.result()).rejects.toMatchObject({ code: ErrorCode.Timeout });
      expect(await execution.state()).toBe(State.Failed);
    }
  });
});

describe("wait cycles (T25), suspending on every wait", () => {
  const engine = (): EmbeddedEngine => {
    current = createEmbeddedRuntime({ suspendAfterMs: 0 });
    engines.push(current);
    return current;
  };

  /** Submits one `awaitsHeldRetried` per key, each awaiting the next (the last the first). */
  function ring(e: EmbeddedEngine, keys: readonly string[]): Execution<unknown>[] {
    const executions = keys.map((_, i) => e.submit(awaitsHeldRetried, keys[(i + 1) % keys.length]!));
    keys.forEach((key, i) => held.set(key, executions[i]!));
    return executions;
  }

  for (const keys of [["a", "b"], ["a", "b", "c"]]) {
    it(`ends ${keys.length} tasks awaiting each other with FLOE_WAIT_CYCLE, without retrying, and leaves none suspended`, async () => {
      const e = engine();
      const executions = ring(e, keys);
      await settled(e, executions.map((x) => x.id));
      const messages: string[] = [];
      for (const execution of executions) {
        const error = (await execution.result({ raiseOnFailure: false })) as Error & { code?: string };
        expect(error.code).toBe(ErrorCode.WaitCycle);
        messages.push(error.message);
        const record = await e.getExecution(execution.id);
        expect([record?.state, record?.attempt]).toEqual([State.Failed, 1]);
      }
      // The last to suspend found the cycle; the others saw its failure from result().
      const named = executions.map((x) => `${x.id} (cy_awaits_held_retried)`);
      const found = named.findIndex((_, i) => messages[i]!.startsWith(`execution ${named[i]} waits in a cycle`));
      expect(found).toBeGreaterThanOrEqual(0);
      const cycle = [...named.slice(found), ...named.slice(0, found), named[found]];
      expect(messages[found]).toBe(
        `execution ${named[found]} waits in a cycle (${cycle.join(" → ")}): each awaits the result of the next, so none can finish; ` +
          "make one of them stop awaiting the next (pass it a value, or await both from the execution that submitted them)",
      );
      expect(new Set(messages).size).toBe(1);
    });
  }

  it("ends a task awaiting its own execution, over HTTP too", async () => {
    const e = engine();
    const execution = e.submit(awaitsItself);
    await settled(e, [execution.id]);
    await expect(execution.result()).rejects.toMatchObject({
      code: ErrorCode.WaitCycle,
      message: `execution ${execution.id} (cy_awaits_itself) awaits its own result, which it can never have; await another execution, or return a value`,
    });
    expect(await e.getExecution(execution.id)).toMatchObject({ state: State.Failed, attempt: 1 });
    const response = await handleRequest(e, { method: "GET", path: `/executions/${execution.id}/result`, query: {}, headers: {}, body: undefined, caller: "local" });
    expect(response.body).toMatchObject({ error: { code: ErrorCode.WaitCycle } });
  });
});
