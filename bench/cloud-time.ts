/**
 * `bench:cloud`'s rows on time (issue 16): what a sleep costs on AWS by each way of waiting
 * past SQS's 15 minutes (a message re-delayed every 15 minutes, or one EventBridge
 * Scheduler schedule), and what a schedule's tick costs. Counted on the local cloud, whose
 * clock is moved instead of waited on: a Scheduler wake-up fires when the clock passes its
 * time; a re-delayed message is sent undelayed and the clock moved by its delay, so each
 * 15-minute hop happens at once, with every request it makes. A sleep's cost is that of a
 * workflow that sleeps the time, less that of one that sleeps a second (which both ways
 * serve by a plain delayed message). The re-delay's 30 days (2,880 hops) are projected
 * from its measured cost per hop at 1 and 6 hours; the Scheduler's are measured.
 */
import { sleep, workflow } from "floe";
import { createApiHandler } from "../functions/api.ts";
import { countRequests, newRequestCounts, type RequestCounts } from "../sdk/aws/request-counter.ts";
import { startEmulators, startLocalCloudRuntime, type Endpoints } from "../sdk/local-cloud/local-cloud.ts";
import { JumpClock, countSends } from "../test/support/jump-clock.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** $ per million: SQS requests, DynamoDB write and read units, Lambda requests, Scheduler invocations (its API calls are not billed). */
export const TIME_PRICE = { sqs: 0.4, write: 0.625, read: 0.125, lambda: 0.2, scheduler: 1 };

const napper = workflow("bc_napper", async (ms: number) => {
  await sleep(ms);
  return ms;
});
workflow("bc_ticked", { schedule: { every: "15 minutes" } }, async () => 1);

/** What one measured thing did. */
interface Tally {
  readonly counts: RequestCounts;
  invocations: number;
  schedulerInvocations: number;
}

/** Dollars per million of what `t` counted: SQS (receives as full ones only: Lambda long-polls), DynamoDB, Lambda, Scheduler. */
function dollars(t: Tally, fullReceives: number): number {
  const sqs = [...t.counts.requests].filter(([op]) => op.startsWith("SQS:") && op !== "SQS:ReceiveMessage").reduce((a, [, n]) => a + n, 0) + fullReceives;
  return sqs * TIME_PRICE.sqs + t.counts.writeUnits * TIME_PRICE.write + t.counts.readUnits * TIME_PRICE.read + t.invocations * TIME_PRICE.lambda + t.schedulerInvocations * TIME_PRICE.scheduler;
}

/** A local cloud waking long delays one way, on a clock the bench moves; measures runs on it. */
async function timeCloud(wakes: "scheduler" | "sqs", endpoints: Endpoints) {
  const clock = new JumpClock();
  const tally: Tally = { counts: newRequestCounts(), invocations: 0, schedulerInvocations: 0 };
  let fullReceives = 0;
  const sends = new Map<number, number>();
  const runtime = await startLocalCloudRuntime({
    endpoints,
    prefix: `bct${wakes}`,
    clock,
    wakes,
    onInvoke: (name) => (name === "scheduler" ? (tally.schedulerInvocations += 1) : (tally.invocations += 1)),
    instrument: (clients) => {
      countRequests(clients, tally.counts);
      countSends(clients.sqs, sends, (seconds) => clock.jump(seconds * 1000));
      clients.sqs.middlewareStack.add(
        (next, context) => async (input) => {
          const result = await next(input);
          if (context.commandName === "ReceiveMessageCommand" && ((result.output as { Messages?: unknown[] }).Messages ?? []).length > 0) fullReceives += 1;
          return result;
        },
        { step: "initialize", name: "benchTimeReceives" },
      );
    },
  });
  const reset = () => {
    Object.assign(tally.counts, newRequestCounts());
    tally.invocations = 0;
    tally.schedulerInvocations = 0;
    fullReceives = 0;
    sends.clear();
  };
  /** Runs `run` (moving the clock by `jumpMs` once it has begun), then waits for its last requests. */
  const measure = async (run: () => Promise<unknown>, jumpMs = 0) => {
    await settle();
    reset();
    const done = run();
    if (jumpMs > 0) {
      // Once its wake-up is scheduled: the workflow's first run has ended in its sleep.
      while (tally.counts.requests.get("Scheduler:CreateSchedule") === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      clock.jump(jumpMs);
    }
    await done;
    await settle();
    const requests = new Map(tally.counts.requests);
    requests.delete("SQS:ReceiveMessage");
    return { dollars: dollars(tally, fullReceives), requests, invocations: tally.invocations, schedulerInvocations: tally.schedulerInvocations, hops: [...sends].filter(([s]) => s > 0).reduce((a, [, n]) => a + n, 0) };
  };
  /** Runs `body`, then closes the cloud. */
  const use = async <T>(body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } finally {
      await runtime.close();
    }
  };
  return { wakes, runtime, measure, use };
}

type TimeCloud = Awaited<ReturnType<typeof timeCloud>>;

/** Waits for in-flight deletes and the coordinator's window. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_500));

/** Measures and prints the rows; returns the figures for the bench's JSON line. */
export async function benchTime(): Promise<Record<string, number>> {
  const emulators = await startEmulators();
  try {
    const sleepOn = async (cloud: TimeCloud, ms: number) => cloud.measure(() => cloud.runtime.submit(napper, ms).result(), cloud.wakes === "scheduler" && ms > 15 * 60_000 ? ms + 1_000 : 0);
    // One cloud at a time; a first run warms its functions' containers.
    const sqs = await timeCloud("sqs", emulators.endpoints);
    const [sqsBase, sqsHour, sqsSix] = await sqs.use(async () => {
      await sleepOn(sqs, 1_000);
      return [await sleepOn(sqs, 1_000), await sleepOn(sqs, HOUR), await sleepOn(sqs, 6 * HOUR)] as const;
    });
    const scheduler = await timeCloud("scheduler", emulators.endpoints);
    const [schedBase, schedHour, schedMonth, ticked] = await scheduler.use(async () => {
      await sleepOn(scheduler, 1_000);
      const measured = [await sleepOn(scheduler, 1_000), await sleepOn(scheduler, HOUR), await sleepOn(scheduler, 30 * DAY)] as const;
      const api = createApiHandler({ runtime: scheduler.runtime });
      let at = Date.parse("2027-01-04T09:00:00Z");
      const tick = () => api({ floeScheduledTick: { workflow: "bc_ticked", scheduledAt: new Date((at += 900_000)).toISOString() } });
      await tick();
      return [...measured, await scheduler.measure(tick)] as const;
    });
    const perHop = (sqsSix.dollars - sqsHour.dollars) / (sqsSix.hops - sqsHour.hops);
    const sleeping = {
      sqsHour: sqsHour.dollars - sqsBase.dollars,
      sqsMonth: sqsHour.dollars - sqsBase.dollars + perHop * (30 * 96 - sqsHour.hops),
      schedulerHour: schedHour.dollars - schedBase.dollars,
      schedulerMonth: schedMonth.dollars - schedBase.dollars,
    };
    console.log("\nSLEEP, past a 1-second sleep's cost, $ per million sleeps:");
    console.log(`  re-delayed SQS message: ${perHop.toFixed(2)} per 15-minute hop (${sqsHour.hops} delayed sends in an hour, ${sqsSix.hops} in six: ${describe(sqsSix, sqsHour)})`);
    console.log(`  one Scheduler schedule: ${[...schedHour.requests].map(([op, n]) => `${op} ${n}`).join(", ")}, ${schedHour.schedulerInvocations} Scheduler invocation, ${schedHour.invocations} Lambda invocations in all (workers' and the coordinator's)`);
    console.log(`  | sleep   | re-delayed SQS | Scheduler | SQS / Scheduler |`);
    console.log(`  | 1 hour  | ${sleeping.sqsHour.toFixed(2).padStart(14)} | ${sleeping.schedulerHour.toFixed(2).padStart(9)} | ${(sleeping.sqsHour / sleeping.schedulerHour).toFixed(1).padStart(14)}x |`);
    console.log(`  | 30 days | ${sleeping.sqsMonth.toFixed(2).padStart(14)} | ${sleeping.schedulerMonth.toFixed(2).padStart(9)} | ${(sleeping.sqsMonth / sleeping.schedulerMonth).toFixed(1).padStart(14)}x |`);
    console.log("  (30 days by re-delay: projected from the hour and the per-hop cost, 2,880 hops; by Scheduler: measured)");
    // The tick's Scheduler invocation and the API function's, which the local cloud does not run as a function.
    const tickDollars = ticked.dollars + TIME_PRICE.scheduler + TIME_PRICE.lambda;
    console.log(`\nSCHEDULE TICK (a no-op workflow), $ per million ticks: ${tickDollars.toFixed(2)}`);
    console.log(`  1 Scheduler invocation + 1 API function invocation + the keyed start and its run: ${[...ticked.requests].map(([op, n]) => `${op} ${n}`).join(", ")}, ${ticked.invocations} Lambda invocations (the worker's and the coordinator's)`);
    console.log(`  a 15-minute schedule: 2,880 ticks a month, $${((tickDollars * 2_880) / 1e6).toFixed(4)} a month`);
    return {
      sleepHourSqs: round(sleeping.sqsHour),
      sleepHourScheduler: round(sleeping.schedulerHour),
      sleep30dSqs: round(sleeping.sqsMonth),
      sleep30dScheduler: round(sleeping.schedulerMonth),
      scheduleTick: round(tickDollars),
    };
  } finally {
    await emulators.stop();
  }
}

function describe(longer: { requests: Map<string, number>; invocations: number }, shorter: { requests: Map<string, number>; invocations: number }): string {
  const hops = [...longer.requests].map(([op, n]) => [op, n - (shorter.requests.get(op) ?? 0)] as const).filter(([, n]) => n > 0);
  return `${hops.map(([op, n]) => `${op} +${n}`).join(", ")}, Lambda +${longer.invocations - shorter.invocations}`;
}

const round = (n: number) => Math.round(n * 100) / 100;
