/**
 * The tasks the conformance suite runs. Defined once, in a module, because task names are
 * global and because a cloud worker loads tasks from a module, not from a test's closure.
 */
import { NonRetriableError, RetryAfterError, asCompleted, task, taskContext, unmapped, wait, workflow, type Execution } from "floe";
import { count, latch, measured, sleep } from "./probes.ts";
import { hostile, type HostileKind } from "../support/hostile-values.ts";

export const double = task("c_double", async (n: number) => n * 2);

export const add = task("c_add", async (a: number, b: number) => a + b);

/** Waits for a latch, then returns `value`. */
export const gated = task("c_gated", async (gate: string, value: unknown) => {
  await latch(gate);
  return value;
});

/** Counts its runs under `key`. */
export const counted = task("c_counted", async (key: string, value: number) => {
  count(key);
  return value;
});

export const callVsSubmit = workflow("c_call_vs_submit", async (n: number) => {
  const called = await double(n);
  const submitted = await double.submit(n).result();
  return { called, submitted };
});

class ValidationError extends Error {
  override name = "ValidationError";
  readonly code = "E_INVALID";
}

export const failing = task("c_failing", async (message: string) => {
  throw new ValidationError(message, { cause: new Error("the root cause") });
});

/** Throws a value that is hard to read (T24); retried once, so the retry policy reads it too. */
export const throwsHostile = task("c_throws_hostile", { retries: { limit: 1, delayMs: 1 } }, async (kind: HostileKind) => {
  throw hostile(kind);
});

/** Reports what it received: whether each argument is an execution, and their results. */
export const inspectArgs = task(
  "c_inspect_args",
  async (direct: Execution<number>, list: Execution<number>[], nested: { inner: { e: Execution<number> } }) => ({
    directIsExecution: typeof direct.result === "function" && typeof direct.id === "string",
    values: [await direct.result(), ...(await Promise.all(list.map((e) => e.result()))), await nested.inner.e.result()],
  }),
);

export const passExecutions = workflow("c_pass_executions", async () => {
  const a = double.submit(1);
  const b = double.submit(2);
  const c = double.submit(3);
  const d = double.submit(4);
  return inspectArgs(a, [b, c], { inner: { e: d } });
});

export const forwarding = workflow("c_forwarding", async (n: number) => double.submit(n));

/** Records the moment it starts, and whether its upstream had finished by then. */
const startedAfter = async (upstreams: Execution<unknown>[]) => {
  const states = await Promise.all(upstreams.map((u) => u.state()));
  return states;
};

export const waitAll = task("c_wait_all", { wait: true }, async (a: Execution<unknown>, b: Execution<unknown>) =>
  startedAfter([a, b]),
);

export const noWait = task("c_no_wait", async (a: Execution<unknown>, b: Execution<unknown>) => startedAfter([a, b]));

export const waitSecond = task("c_wait_second", { wait: [1] }, async (a: Execution<unknown>, b: Execution<unknown>) =>
  startedAfter([a, b]),
);

export const waitProduct = task(
  "c_wait_product",
  { wait: "product" },
  async (input: { user: Execution<unknown>; product: Execution<unknown> }) => startedAfter([input.user, input.product]),
);

export const waitingWorkflow = workflow(
  "c_waiting",
  async (variant: "all" | "none" | "second" | "product", gateA: string, gateB: string) => {
    const a = gated.submit(gateA, "a");
    const b = gated.submit(gateB, "b");
    switch (variant) {
      case "all":
        return waitAll.submit(a, b);
      case "none":
        return noWait.submit(a, b);
      case "second":
        return waitSecond.submit(a, b);
      case "product":
        return waitProduct.submit({ user: a, product: b });
    }
  },
);

/** Fire-and-forget: submits a notification nobody awaits and returns at once. */
export const notify = task("c_notify", { retries: { limit: 2, delayMs: 5 } }, async (key: string, failFirst: boolean) => {
  const n = count(key);
  if (failFirst && n === 1) throw new Error("mail server unavailable");
  return `sent ${n}`;
});

export const placeOrder = workflow("c_place_order", async (key: string, failFirst: boolean) => {
  notify.submit(key, failFirst);
  return "accepted";
});

/** The `idempotencyKey` each attempt of `flaky` saw, by key. */
export const idempotencyKeys = new Map<string, string[]>();

/** Fails until its `succeedOn` attempt. */
export const flaky = task(
  "c_flaky",
  { retries: { limit: 3, delayMs: 20, backoff: "exponential", factor: 2 } },
  async (key: string, succeedOn: number) => {
    count(key);
    idempotencyKeys.set(key, [...(idempotencyKeys.get(key) ?? []), taskContext()?.idempotencyKey ?? ""]);
    const attempt = taskContext()?.attempt ?? 0;
    if (attempt < succeedOn) throw new Error(`attempt ${attempt} failed`);
    return attempt;
  },
);

export const neverRetried = task("c_never_retried", { retries: 5 }, async (key: string) => {
  count(key);
  throw new NonRetriableError("the card was declined");
});

export const retryAfter = task("c_retry_after", { retries: 1 }, async (key: string) => {
  if (count(key) === 1) throw new RetryAfterError("rate limited", 30);
  return "ok";
});

export const selective = task(
  "c_selective",
  { retries: { limit: 3, delayMs: 1, retryOn: ["ThrottlingError"] } },
  async (key: string, name: string) => {
    count(key);
    const error = new Error("no");
    error.name = name;
    throw error;
  },
);

export const slow = task("c_slow", { timeoutMs: 30 }, async (key: string, ms: number) => {
  count(key);
  await sleep(ms);
  return "finished";
});

export const slowRetried = task("c_slow_retried", { timeoutMs: 30, retries: { limit: 1, delayMs: 1 } }, async (key: string) => {
  const n = count(key);
  await sleep(n === 1 ? 200 : 1);
  return n;
});

/** Submits two gated children and a downstream that waits on one of them. */
export const cancellable = workflow("c_cancellable", async (gate: string) => {
  const first = gated.submit(gate, 1);
  const second = gated.submit(gate, 2);
  const child = nested.submit(gate);
  await wait([first, second, child]);
  return "never";
});

export const nested = task("c_nested", async (gate: string) => {
  await gated.submit(gate, "grandchild").result();
  return "nested";
});

export const downstreamOf = task("c_downstream_of", { wait: true }, async (upstream: Execution<unknown>) =>
  upstream.result({ raiseOnFailure: false }).then((r) => (r instanceof Error ? `saw ${r.name}` : `saw ${String(r)}`)),
);

export const mapped = workflow("c_mapped", async (items: number[], offset: number) => {
  const executions = add.map(items, unmapped(offset));
  return Promise.all(executions.map((e) => e.result()));
});

export const waitHelper = workflow("c_wait_helper", async (gate: string) => {
  const executions = [gated.submit(gate, 1), gated.submit(gate, 2), double.submit(5)];
  await wait(executions);
  return Promise.all(executions.map((e) => e.state()));
});

/** Collects the values of gated executions in the order asCompleted yields them. */
export const completionOrder = workflow("c_completion_order", async (gates: string[]) => {
  const order: unknown[] = [];
  for await (const execution of asCompleted(gates.map((gate, i) => gated.submit(gate, i)))) order.push(await execution.result());
  return order;
});

export const limited = task("c_limited", async (gauge: string, ms: number) => measured(gauge, () => sleep(ms)));

export const fanOut = workflow("c_fan_out", async (gauge: string, n: number, ms: number) => {
  await wait(Array.from({ length: n }, () => limited.submit(gauge, ms)));
  return n;
});

/** Wraps an execution in a list: each read of the result revives a new handle of it. */
export const wrapped = task("c_wrapped", async (x: Execution<number>) => [x]);

/** Gives a wait:true join two distinct handles of one execution. */
export const twoHandles = workflow("c_two_handles", async () => {
  const inner = wrapped.submit(add.submit(1, 2));
  const [a] = await inner.result();
  const [b] = await inner.result();
  if (a === undefined || b === undefined || a === b || a.id !== b.id) throw new Error("expected two handles of one execution");
  return sumBoth.submit([a, b]);
});

/** Waits for every execution in its list, then adds their results. */
export const sumBoth = task("c_sum_both", { wait: true }, async (xs: Execution<number>[]) => {
  let total = 0;
  for (const x of xs) total += await x.result();
  return total;
});

/** Returns a running execution: whoever awaits the relay follows it to that one. */
export const relay = task("c_relay", async (gauge: string, ms: number) => limited.submit(gauge, ms));

/** Awaits a relay while other tasks queue up, so the forward is followed after a wait. */
export const awaitsRelay = workflow("c_awaits_relay", async (gauge: string) => {
  const others = [limited.submit(gauge, 30), limited.submit(gauge, 30)];
  await relay(gauge, 30);
  await wait(others);
  return "done";
});

/** Waits on a child, which waits on a grandchild: a deadlock if waiting held a slot. */
export const depth = task("c_depth", async (level: number): Promise<number> => (level === 0 ? 0 : 1 + (await depth(level - 1))));

export const sequential = workflow("c_sequential", async (key: string) => {
  count(key);
  let total = 0;
  for (let i = 1; i <= 3; i += 1) total += await counted(`${key}-child`, i);
  return total;
});

/** Submits the same children in another order on its second attempt, then succeeds. */
export const reordering = workflow("c_reordering", { retries: { limit: 1, delayMs: 1 } }, async (key: string) => {
  const attempt = taskContext()?.attempt ?? 0;
  const values = attempt === 1 ? [1, 2] : [2, 1];
  const executions = values.map((v) => counted.submit(`${key}-child`, v));
  const results = await Promise.all(executions.map((e) => e.result()));
  if (attempt === 1) throw new Error("first attempt fails after its children finished");
  return results;
});

/** Makes different calls on its second attempt. */
export const changing = workflow("c_changing", { retries: { limit: 1, delayMs: 1 } }, async (key: string) => {
  const attempt = taskContext()?.attempt ?? 0;
  const result = await counted(`${key}-child`, attempt * 10);
  if (attempt === 1) throw new Error("first attempt fails");
  return result;
});

export const echo = task("c_echo", async (value: unknown) => value);

export const big = task("c_big", async (size: number) => "x".repeat(size));

export const identical = workflow("c_identical", async (key: string) => {
  // Three, so that a second repeat is counted from the first.
  const results = await Promise.all([counted(`${key}-child`, 7), counted(`${key}-child`, 7), counted(`${key}-child`, 7)]);
  return results;
});
