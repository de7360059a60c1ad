/**
 * What floe's orchestration costs on AWS, counted on the local cloud (the same AWS SDK
 * requests the Lambda handlers make, each function on runtimes of its own, so a workflow
 * awaiting a task suspends after 100 ms and is re-run from the start, as in Lambda): every
 * request by service and operation, DynamoDB capacity units, and the cost per million tasks
 * at public prices, beside Step Functions Standard and Lambda durable functions. Task
 * bodies are no-ops: their own compute is not orchestration. The awaited chain is measured
 * at two lengths: each re-run learns the steps before it in one read, so its cost per step
 * should not grow with its length (the growth row checks it). A chain of `inline`
 * steps runs each in the workflow's own worker: no message, no invocation, no re-run,
 * only the step's record created `running` and its completion. Each row is checked
 * against issue 14's target, and the last line is one JSON object of the figures. The
 * sleep and schedule-tick rows are `cloud-time.ts`'s. Run with `npm run bench:cloud`
 * (`-- --wide` adds a 10,000-wide fan-out, `-- --time-only` runs the time rows alone; needs
 * Java 17 for DynamoDB Local).
 */
import { startLocalCloud } from "floe/local-cloud";
import { task, workflow, type Execution } from "floe";
import { countRequests, newRequestCounts, type RequestCounts } from "../sdk/aws/request-counter.ts";
import { benchTime } from "./cloud-time.ts";

// `npm run bench:cloud -- --wide` also measures a 10,000-wide fan-out (and so the fan-in
// target directly), which takes several minutes more.
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--wide" && a !== "--time-only" && a !== "--limits-only");
if (unknown.length > 0) {
  throw new Error(`unknown argument(s) ${unknown.join(" ")}; the options are --wide (add a 10,000-wide fan-out), --time-only (only the sleep and schedule rows) and --limits-only (only the limit rows)`);
}
const LIMITED_FAN_OUT = 200;
const FAN_OUTS = args.includes("--wide") ? [1_000, 10_000] : [1_000];
const CHAINS = [10, 100] as const;
const WAIT_CHAIN = 20;
const INLINE_CHAIN = 100;
const PRICE = { sqs: 0.4, write: 0.625, read: 0.125, lambda: 0.2, stepFunctions: 25, durable: 8 }; // $ per million
/** Issue 14's targets, in dollars per million tasks or steps. */
const TARGET = { fanOut: 2, chainStep: 6, chainGrowth: 1.15, inlineStep: 1.25, waitStep: 4, joinWrites: 200 };

const noop = task("bc_noop", async (i: number) => i);
const sum = task("bc_sum", { wait: true }, async (xs: Execution<number>[]) =>
  (await Promise.all(xs.map((x) => x.result()))).reduce((a, b) => a + b, 0),
);
const fanOut = workflow("bc_fan_out", async (n: number) => sum.submit(Array.from({ length: n }, (_, i) => noop.submit(i))));
const inc = task("bc_inc", async (x: number) => x + 1);
const chain = workflow("bc_chain", async (steps: number) => {
  let x = 0;
  for (let i = 0; i < steps; i++) x = await inc(x);
  return x;
});
// Each step runs in the workflow's worker, as an execution of its own.
const inlineInc = task("bc_inline_inc", { inline: true }, async (x: number) => x + 1);
const inlineChain = workflow("bc_inline_chain", async (steps: number) => {
  let x = 0;
  for (let i = 0; i < steps; i++) x = await inlineInc(x);
  return x;
});
// Each step starts once the one before it has finished, and nothing suspends.
const waitInc = task("bc_wait_inc", { wait: true }, async (x: Execution<number> | number) => (typeof x === "number" ? x : await x.result()) + 1);
const waitChain = workflow("bc_wait_chain", async (steps: number) => {
  let x: Execution<number> | number = 0;
  for (let i = 0; i < steps; i++) x = waitInc.submit(x);
  return x;
});

// The same fan-out of no-op tasks into one fan-in, unlimited and under each limit (both
// binding: 200 tasks through 50 slots, or 50 starts a second): the difference is the limit's cost.
const plainTask = task("bc_plain", async (i: number) => i);
const concurrentTask = task("bc_concurrent", { concurrency: { limit: 50 } }, async (i: number) => i);
const ratedTask = task("bc_rated", { rateLimit: { limit: 50, periodMs: 1_000 } }, async (i: number) => i);
const limitedFan = workflow("bc_limited_fan", async (kind: "plain" | "concurrency" | "rate", n: number) => {
  const target = kind === "plain" ? plainTask : kind === "concurrency" ? concurrentTask : ratedTask;
  return sum.submit(Array.from({ length: n }, (_, i) => target.submit(i)));
});

interface Measured {
  readonly counts: RequestCounts;
  readonly emptyReceives: number;
  /** Receives that brought messages: those billed (an empty one is an artefact of the emulation's short polls). */
  readonly fullReceives: number;
  /** Worker invocations (a batch handed to a task's function). */
  readonly invocations: number;
  /** The coordinator's, the dead-letter handler's and the reconciler's. */
  readonly backgroundInvocations: number;
  readonly downstreamWrites: number;
  /** Of those, the grouped releases into it. */
  readonly downstreamReleases: number;
  /** From the submission to the result, in milliseconds. */
  readonly ms: number;
}

async function main(): Promise<void> {
  // One tally the middleware writes to, emptied before each measurement.
  const counts = newRequestCounts();
  let emptyReceives = 0;
  let fullReceives = 0;
  let invocations = 0;
  let backgroundInvocations = 0;
  const writesTo = new Map<string, number>();
  const releasesTo = new Map<string, number>();
  const cloud = await startLocalCloud({
    concurrency: 64,
    suspendAfterMs: 100,
    // As deployed (the construct gives a queue six times its function's timeout): on the
    // emulators a workflow submitting 10,000 children takes longer than the local cloud's
    // default of 30 s, and a take-over would submit them all again.
    visibilityTimeoutSeconds: 900,
    onInvoke: (name) => {
      if (name.startsWith("worker:")) invocations += 1;
      else backgroundInvocations += 1;
    },
    instrument: (clients) => {
      countRequests(clients, counts);
      // An empty short poll is an artefact of the emulation (Lambda long-polls), not a cost per task.
      clients.sqs.middlewareStack.add(
        (next, context) => async (input) => {
          const result = await next(input);
          if (context.commandName === "ReceiveMessageCommand") {
            const messages = (result.output as { Messages?: unknown[] }).Messages ?? [];
            if (messages.length === 0) emptyReceives += 1;
            else fullReceives += 1;
          }
          return result;
        },
        { step: "initialize", name: "benchReceives" },
      );
      // Writes per item (a run's records share a partition: items are told apart by their
      // sort key); a release is the update that counts slots on its downstream.
      clients.dynamodb.middlewareStack.add(
        (next, context) => async (request) => {
          const input = request.input as { Key?: { pk?: string; sk?: string }; Item?: { pk?: string; sk?: string }; UpdateExpression?: string };
          const key = input.Key ?? input.Item;
          const item = key === undefined ? undefined : `${key.pk}|${key.sk}`;
          if (item !== undefined && /Update|Put/.test(context.commandName ?? "")) {
            writesTo.set(item, (writesTo.get(item) ?? 0) + 1);
            if (input.UpdateExpression?.includes("ADD #counted") === true) releasesTo.set(item, (releasesTo.get(item) ?? 0) + 1);
          }
          return next(request);
        },
        { step: "initialize", name: "benchDownstream" },
      );
    },
  });
  // Requests and invocations so far, but the pollers' receives, which never stop.
  const activity = () =>
    [...counts.requests.entries()].filter(([operation]) => operation !== "SQS:ReceiveMessage").reduce((a, [, n]) => a + n, 0) +
    invocations +
    backgroundInvocations;
  /** Waits until nothing has happened for two seconds (the coordinator's window is one), at most two minutes. */
  const quiet = async () => {
    let last = -1;
    for (let still = 0, polls = 0; still < 4 && polls < 240; polls += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = activity();
      still = now === last ? still + 1 : 0;
      last = now;
    }
  };
  const measure = async (run: () => Promise<unknown>): Promise<Measured> => {
    // What the previous run left in flight (a wide join's last releases and deletes) is not this run's.
    await quiet();
    Object.assign(counts, newRequestCounts());
    emptyReceives = 0;
    fullReceives = 0;
    invocations = 0;
    backgroundInvocations = 0;
    writesTo.clear();
    releasesTo.clear();
    const started = performance.now();
    await run();
    const ms = performance.now() - started;
    // Let the coordinator's backstop and the last deletes land.
    await quiet();
    const [hottest, downstreamWrites] = [...writesTo.entries()].reduce((a, b) => (b[1] > a[1] ? b : a), ["", 0]);
    return { counts: { ...counts }, emptyReceives, fullReceives, invocations, backgroundInvocations, downstreamWrites, downstreamReleases: releasesTo.get(hottest) ?? 0, ms };
  };
  try {
    await cloud.submit(chain, 3).result();
    const limitCosts: Record<string, number> = {};
    for (const kind of ["plain", "concurrency", "rate"] as const) {
      const measured = await measure(() => cloud.submit(limitedFan, kind, LIMITED_FAN_OUT).result());
      limitCosts[kind] = report(`LIMITS: a fan-out of ${LIMITED_FAN_OUT} no-op tasks, ${kind === "plain" ? "unlimited" : `under a ${kind} limit`} (per task)`, measured, LIMITED_FAN_OUT, Infinity);
    }
    // Releases that overlap, as under load: two fan-outs at once through the same 50 slots
    // (the same fan-out twice unlimited is the baseline), so that finishing tasks race for
    // the same held executions.
    for (const kind of ["plain", "concurrency"] as const) {
      const measured = await measure(() => Promise.all([0, 1].map(() => cloud.submit(limitedFan, kind, LIMITED_FAN_OUT).result())));
      limitCosts[`${kind}Overlapping`] = report(
        `LIMITS: two fan-outs of ${LIMITED_FAN_OUT} no-op tasks at once, ${kind === "plain" ? "unlimited" : "under one concurrency limit"} (per task)`,
        measured,
        2 * LIMITED_FAN_OUT,
        Infinity,
      );
    }
    const plainCost = limitCosts.plain ?? 0;
    console.log(
      `\nLIMITS, added per million tasks: concurrency $${((limitCosts.concurrency ?? 0) - plainCost).toFixed(2)} ` +
        `($${((limitCosts.concurrencyOverlapping ?? 0) - (limitCosts.plainOverlapping ?? 0)).toFixed(2)} with two fan-outs at once), rate $${((limitCosts.rate ?? 0) - plainCost).toFixed(2)}`,
    );
    if (args.includes("--limits-only")) return;
    const fans: { width: number; measured: Measured; cost: number }[] = [];
    for (const width of FAN_OUTS) {
      const measured = await measure(() => cloud.submit(fanOut, width).result());
      fans.push({ width, measured, cost: report(`FAN-OUT of ${width} no-op tasks joined by one wait:true task (per task)`, measured, width, TARGET.fanOut) });
    }
    const chains: { steps: number; cost: number }[] = [];
    for (const steps of CHAINS) {
      const measured = await measure(() => cloud.submit(chain, steps).result());
      chains.push({ steps, cost: report(`CHAIN of ${steps} awaited steps (per step)`, measured, steps, TARGET.chainStep) });
    }
    const waits = await measure(() => cloud.submit(waitChain, WAIT_CHAIN).result());
    const waitCost = report(`WAIT CHAIN of ${WAIT_CHAIN} wait:true steps (per step)`, waits, WAIT_CHAIN, TARGET.waitStep);
    const inlined = await measure(() => cloud.submit(inlineChain, INLINE_CHAIN).result());
    const inlineCost = report(`INLINE CHAIN of ${INLINE_CHAIN} awaited inline steps (per step)`, inlined, INLINE_CHAIN, TARGET.inlineStep);
    const [short, long] = chains;
    if (short !== undefined && long !== undefined) {
      const growth = long.cost / short.cost;
      console.log(
        `\nCHAIN GROWTH: $${short.cost.toFixed(2)} per million steps at ${short.steps} steps, $${long.cost.toFixed(2)} at ${long.steps}: ` +
          `${growth.toFixed(2)}x per step for ${long.steps / short.steps}x the length (target ≤ ${TARGET.chainGrowth}x: ${growth <= TARGET.chainGrowth ? "PASS" : "MISS"})`,
      );
    }
    const widest = fans.at(-1);
    let joinWrites10k: number | undefined;
    if (widest !== undefined) {
      const { width, measured: fan } = widest;
      console.log(
        `\nFAN-IN: the most-written item (the join's record) was written ${fan.downstreamWrites} times for ${width} upstreams` +
          ` (${fan.downstreamReleases} grouped releases, ${fan.downstreamWrites - fan.downstreamReleases} other writes)`,
      );
      // The releases grow with the fan-in; the join's other writes (creation, start, finish) do not.
      joinWrites10k =
        width === 10_000 ? fan.downstreamWrites : fan.downstreamWrites - fan.downstreamReleases + Math.round((fan.downstreamReleases * 10_000) / width);
      console.log(
        `  ${width === 10_000 ? "measured" : "projected"} for 10,000 → 1: ${joinWrites10k} writes (target ≤ ${TARGET.joinWrites}) ${joinWrites10k <= TARGET.joinWrites ? "PASS" : "MISS"}`,
      );
    }
    // Sleeps and schedule ticks, on clouds of their own whose clocks the bench moves.
    const time = await benchTime();
    const costOf = (width: number) => fans.find((f) => f.width === width)?.cost ?? null;
    const round = (n: number | null | undefined) => (n === null || n === undefined ? null : Math.round(n * 100) / 100);
    // The last line, for scripts: dollars per million (a row not measured is null), and the join's writes as a count.
    console.log(
      JSON.stringify({
        fanOut1k: round(costOf(1_000)),
        fanOut10k: round(costOf(10_000)),
        chain10: round(short?.cost),
        chain100: round(long?.cost),
        inlineChain: round(inlineCost),
        waitChain: round(waitCost),
        joinWrites10k: joinWrites10k ?? null,
        limitConcurrencyAdded: round((limitCosts.concurrency ?? 0) - plainCost),
        limitConcurrencyOverlappingAdded: round((limitCosts.concurrencyOverlapping ?? 0) - (limitCosts.plainOverlapping ?? 0)),
        limitRateAdded: round((limitCosts.rate ?? 0) - plainCost),
        ...time,
      }),
    );
  } finally {
    await cloud.close();
  }
}

const writeOperations = new Set(["DynamoDB:PutItem", "DynamoDB:UpdateItem", "DynamoDB:TransactWriteItems", "DynamoDB:BatchWriteItem", "DynamoDB:DeleteItem"]);

/** Prints a measurement per task or step against its target; returns its cost per million. */
function report(title: string, m: Measured, per: number, target: number): number {
  console.log(`\n${title}: ${(m.ms / 1000).toFixed(1)} s to the result, ${(m.ms / per).toFixed(1)} ms each`);
  const rows = [...m.counts.requests.entries()].sort((a, b) => b[1] - a[1]);
  for (const [operation, n] of rows) {
    const note = operation === "SQS:ReceiveMessage" ? ` (${m.emptyReceives} empty polls of the emulation not counted)` : "";
    // A receive in flight when the measurement began is counted by one tally and not the other: the full ones are what is billed.
    const counted = operation === "SQS:ReceiveMessage" ? m.fullReceives : n;
    const units = m.counts.units.get(operation);
    const unitNote = units === undefined ? "" : `  ${(units / per).toFixed(2)} ${writeOperations.has(operation) ? "write" : "read"} units`;
    console.log(`  ${operation.padEnd(30)} ${(counted / per).toFixed(3).padStart(8)}${unitNote}${note}`);
  }
  const sqsRequests = rows.filter(([op]) => op.startsWith("SQS:") && op !== "SQS:ReceiveMessage").reduce((a, [, n]) => a + n, 0) + m.fullReceives;
  const cost = {
    sqs: (sqsRequests / per) * PRICE.sqs,
    writes: (m.counts.writeUnits / per) * PRICE.write,
    reads: (m.counts.readUnits / per) * PRICE.read,
    lambda: ((m.invocations + m.backgroundInvocations) / per) * PRICE.lambda,
  };
  const total = cost.sqs + cost.writes + cost.reads + cost.lambda;
  console.log(
    `  write units ${(m.counts.writeUnits / per).toFixed(2)} (of which ${(m.counts.indexWriteUnits / per).toFixed(2)} to indexes and ` +
      `${(m.counts.failedConditions / per).toFixed(2)} for failed conditions), read units ${(m.counts.readUnits / per).toFixed(2)}, ` +
      `invocations ${(m.invocations / per).toFixed(3)} of workers and ${(m.backgroundInvocations / per).toFixed(3)} of the coordinator and the other background functions`,
  );
  console.log(
    `  $ per million: SQS ${cost.sqs.toFixed(2)} + DynamoDB writes ${cost.writes.toFixed(2)} + reads ${cost.reads.toFixed(2)} + Lambda requests ${cost.lambda.toFixed(2)} = ${total.toFixed(2)}` +
      ` (target ≤ ${target.toFixed(2)}: ${total <= target ? "PASS" : "MISS"})`,
  );
  console.log(
    `  beside: Step Functions Standard ≥ $${PRICE.stepFunctions.toFixed(2)} (one transition per task, ${(PRICE.stepFunctions / total).toFixed(1)}x floe), ` +
      `Lambda durable functions ≥ $${PRICE.durable.toFixed(2)} (one operation per task, ${(PRICE.durable / total).toFixed(1)}x floe)`,
  );
  return total;
}

// `-- --time-only`: the sleep and schedule-tick rows alone, a minute instead of several.
if (args.includes("--time-only")) console.log(JSON.stringify(await benchTime()));
else await main();
