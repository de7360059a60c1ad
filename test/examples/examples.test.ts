/**
 * The README's examples do what their comments say: each runs here on the embedded engine,
 * with time from the test's clock where the example waits.
 */
import { describe, expect, it } from "vitest";
import { createEngine, RunEventType, State } from "floe";
import { ManualClock } from "../support/sim-sqs.ts";
import { checkout, checkoutWithEvents, describeEvent } from "../../examples/run-events.ts";
import { signUp } from "../../examples/reminder.ts";
import { nightlyReport } from "../../examples/nightly-report.ts";
import { submitExpense } from "../../examples/expense-approval.ts";
import { cartCheckout, typeOut } from "../../examples/reuse.ts";
import { signUp as typedSignUp } from "../../examples/typed-input.ts";
import { reportWithRerun } from "../../examples/rerun.ts";
import { syncAccounts } from "../../examples/rate-limited-api.ts";

const turns = async (n = 40) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe("examples", () => {
  it("typed-input: runs with the schema's output, and refuses a bad email naming the field, starting nothing", async () => {
    await using engine = createEngine();
    expect(await engine.submit(typedSignUp, { email: "ada@example.com", name: " Ada ", plan: "pro" }).result()).toEqual({
      id: "acct-ada@example.com",
      name: "Ada",
      plan: "pro",
      credits: 100,
    });
    expect(() => engine.submit(typedSignUp, { email: "ada", name: "Ada" })).toThrow(/invalid input for "sign_up_typed": email: Invalid email address/);
    expect(await engine.listRuns({ taskName: "sign_up_typed" })).toHaveLength(1);
  });

  it("rerun: the failed region runs again with what depends on it; the completed ones are reused", async () => {
    await using engine = createEngine();
    const { firstError, report, fetches } = await reportWithRerun(engine, "2026-11");
    expect(firstError).toBe("the emea sales API answered 503 for 2026-11");
    expect(report).toEqual({ month: "2026-11", totalCents: 250_000 });
    expect(fetches).toEqual({ amer: 1, emea: 2, apac: 1 });
  });

  it("rate-limited-api: syncs every account, two at a time per tenant and five starts a second", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    await using engine = createEngine({ clock });
    const run = engine.submit(syncAccounts, "acme", 8);
    await turns();
    const calls = (await engine.getRun(run.id))?.executions.filter((e) => e.task === "sync_account") ?? [];
    expect(calls).toHaveLength(8);
    // Five starts in the first second (two at a time), the rest in the next windows.
    clock.advance(1_000);
    await turns();
    clock.advance(1_000);
    expect(await run.result()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const started = ((await engine.getRun(run.id))?.executions ?? []).filter((e) => e.task === "sync_account").map((e) => e.startedAt ?? 0);
    const first = Math.min(...started);
    expect(started.filter((at) => at < first + 1_000)).toHaveLength(5);
  });

  it("run-events: the run's end and the background receipt's failure are announced, once each", async () => {
    const events = await checkoutWithEvents("order-17");
    expect(events.map((e) => [e.detailType, e.detail.task])).toEqual([
      [RunEventType.Completed, checkout.name],
      [RunEventType.ExecutionFailed, "send_receipt"],
    ]);
    expect(describeEvent(events[1]!)).toContain("the mail service refused the receipt for order-17");
  });

  it("reminder: sleeps two seconds, nudges, and books a follow-up three seconds later", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    await using engine = createEngine({ clock });
    const run = engine.submit(signUp, "ada@example.com");
    await turns();
    expect(await engine.getExecution(run.id)).toMatchObject({ state: State.Sleeping, wakeAt: clock.now() + 2_000 });
    clock.advance(2_000);
    const result = await run.result();
    expect(result.nudged).toBe(true);
    const followUp = await engine.getExecution(result.followUp);
    expect(followUp).toMatchObject({ state: State.Queued });
    clock.advance(3_000);
    await turns();
    expect(await engine.getExecution(result.followUp)).toMatchObject({ state: State.Completed, result: { subject: "How is it going?" } });
  });

  it("reuse: the user is loaded once a run, the rate cached across runs, the typing saved once", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    await using engine = createEngine({ clock });
    const first = engine.submit(cartCheckout, "u1", "EUR");
    expect(await first.result()).toEqual({ user: "user u1", total: 2_160 });
    const users = (await engine.getRun(first.id))?.executions.filter((e) => e.task === "load_customer");
    expect(users?.length).toBe(1);
    const second = engine.submit(cartCheckout, "u1", "EUR");
    expect(await second.result()).toEqual({ user: "user u1", total: 2_160 });
    const rate = (await engine.getRun(second.id))?.executions.find((e) => e.task === "exchange_rate");
    expect(rate?.cachedFrom).toBeDefined();
    const typing = engine.submit(typeOut, "doc-1", "hey");
    await turns();
    clock.advance(2_000);
    expect(await typing.result()).toEqual({ keystrokes: 3, saved: ["hey", "hey", "hey"] });
  });

  it("expense-approval: reminds the manager, then pays once the approval comes from outside", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    await using engine = createEngine({ clock });
    const run = engine.submit(submitExpense, "ada", 42_000);
    await turns();
    const approval = (await engine.getRun(run.id))?.executions.find((e) => e.task === "manager_approval");
    expect(approval).toMatchObject({ state: State.Waiting, external: { timeoutAt: clock.now() + 15_000 } });
    clock.advance(3_000);
    await turns();
    const reminder = (await engine.getRun(run.id))?.executions.find((e) => e.task === "remind_manager");
    expect(reminder).toMatchObject({ state: State.Completed, result: "reminded" });
    await engine.complete(approval!.id, { result: { approved: true } });
    clock.advance(5_000);
    expect(await run.result()).toMatchObject({ employee: "ada", status: "paid", payment: { amountCents: 42_000 } });
  });

  it("expense-approval: with no answer by the timeout, the expense is not paid", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    await using engine = createEngine({ clock });
    const run = engine.submit(submitExpense, "ada", 42_000);
    for (let second = 0; second < 15; second += 1) {
      await turns();
      clock.advance(1_000);
    }
    expect(await run.result()).toEqual({ employee: "ada", status: "no answer in time" });
  });

  it("nightly-report: a tick reports on the day before it", async () => {
    await using engine = createEngine();
    const report = await engine.submit(nightlyReport, { scheduledAt: "2026-03-02T02:00:00Z" }).result();
    expect(report).toEqual({ day: "2026-03-01", orders: 70 });
  });
});
