/**
 * What floe's orchestration costs on AWS, counted on the local cloud (the same AWS SDK
 * requests the Lambda handlers make, each function on runtimes of its own, so a workflow
 * awaiting a task suspends after 100 ms and is re-run from the start, as in Lambda): every
 * request by service and operation, DynamoDB capacity units, and the cost per million tasks
 * at public prices, beside Step Functions Standard and Lambda durable functions. Task
 * bodies are no-ops: their own compute is not orchestration. The awaited chain is measured
 * at two lengths: each re-run registers again (a conditional put that fails) and reads
 * the steps before it, so its cost per step grows with its length. Run with `npm run bench:cloud` (needs Java 17 for
 * DynamoDB Local).
 */
import { startLocalCloud } from "floe/local-cloud";
import { task, workflow, type Execution } from "floe";
import { countRequests, newRequestCounts, type RequestCounts } from "../sdk/aws/request-counter.ts";

// `npm run bench:cloud -- 10000` measures a wider fan-out (and so the fan-in target) directly.
const FAN_OUT = Number(process.argv[2] ?? 1_000);
if (!Number.isInteger(FAN_OUT) || FAN_OUT < 1) throw new Error(`the fan-out must be a positive integer, got "${process.argv[2] ?? ""}"`);
const CHAINS = [10, 100] as const;
const PRICE = { sqs: 0.4, write: 0.625, read: 0.125, lambda: 0.2, stepFunctions: 25, durable: 8 }; // $ per million
const TARGET_PER_MILLION = 2.5;
const TARGET_FAN_IN_WRITES = 200;

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

interface Measured {
  readonly counts: RequestCounts;
  readonly emptyReceives: number;
  readonly invocations: number;
  readonly downstreamWrites: number;
  /** Of those, the grouped releases (transactions) into it. */
  readonly downstreamReleases: number;
  /** From the submission to the result, in milliseconds. */
  readonly ms: number;
}

async function main(): Promise<void> {
  // One tally the middleware writes to, emptied before each measurement.
  const counts = newRequestCounts();
  let emptyReceives = 0;
  let invocations = 0;
  const writesTo = new Map<string, number>();
  const releasesTo = new Map<string, number>();
  const cloud = await startLocalCloud({
    concurrency: 64,
    suspendAfterMs: 100,
    instrument: (clients) => {
      countRequests(clients, counts);
      // Lambda's event source turns each non-empty receive into one invocation; an empty
      // short poll is an artefact of the emulation (Lambda long-polls), not a cost per task.
      clients.sqs.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName === "ReceiveMessageCommand") {
            const messages = (result.output as { Messages?: unknown[] }).Messages ?? [];
            if (messages.length === 0) emptyReceives += 1;
            else invocations += 1;
          }
          return result;
        },
        { step: "initialize", name: "benchReceives" },
      );
      // Writes per downstream item: each release decrements its downstream's counter.
      clients.dynamodb.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { TransactItems?: { Update?: { Key?: { pk?: string } } }[]; Key?: { pk?: string } };
          const keys = context.commandName === "TransactWriteItemsCommand" ? (input.TransactItems ?? []).map((i) => i.Update?.Key?.pk) : [input.Key?.pk];
          if (/Update|Put|Transact/.test(context.commandName ?? "")) {
            for (const key of keys) if (key !== undefined) writesTo.set(key, (writesTo.get(key) ?? 0) + 1);
          }
          if (context.commandName === "TransactWriteItemsCommand") {
            const last = keys.at(-1);
            if (last !== undefined) releasesTo.set(last, (releasesTo.get(last) ?? 0) + 1);
          }
          return next(args);
        },
        { step: "initialize", name: "benchDownstream" },
      );
    },
  });
  const measure = async (run: () => Promise<unknown>): Promise<Measured> => {
    Object.assign(counts, newRequestCounts());
    emptyReceives = 0;
    invocations = 0;
    writesTo.clear();
    releasesTo.clear();
    const started = performance.now();
    await run();
    const ms = performance.now() - started;
    // Let the coordinator's backstop and the last deletes land.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const [hottest, downstreamWrites] = [...writesTo.entries()].reduce((a, b) => (b[1] > a[1] ? b : a), ["", 0]);
    return { counts: { ...counts }, emptyReceives, invocations, downstreamWrites, downstreamReleases: releasesTo.get(hottest) ?? 0, ms };
  };
  try {
    await cloud.submit(chain, 3).result();
    const fan = await measure(() => cloud.submit(fanOut, FAN_OUT).result());
    const chains = [];
    for (const steps of CHAINS) chains.push({ steps, measured: await measure(() => cloud.submit(chain, steps).result()) });
    report(`FAN-OUT of ${FAN_OUT} no-op tasks joined by one wait:true task (per task)`, fan, FAN_OUT);
    const perStep = chains.map(({ steps, measured }) => ({ steps, cost: report(`CHAIN of ${steps} awaited steps (per step)`, measured, steps) }));
    const [short, long] = perStep;
    if (short !== undefined && long !== undefined) {
      console.log(
        `\nCHAIN GROWTH: $${short.cost.toFixed(2)} per million steps at ${short.steps} steps, $${long.cost.toFixed(2)} at ${long.steps}: ` +
          `${(long.cost / short.cost).toFixed(1)}x per step for ${long.steps / short.steps}x the length (each re-run registers and reads again the steps before it)`,
      );
    }
    console.log(
      `\nFAN-IN: the most-written item (the join's record) was written ${fan.downstreamWrites} times for ${FAN_OUT} upstreams` +
        ` (${fan.downstreamReleases} grouped releases, ${fan.downstreamWrites - fan.downstreamReleases} other writes)`,
    );
    // The releases grow with the fan-in; the join's other writes (creation, start, finish) do not.
    const projected =
      FAN_OUT === 10_000 ? fan.downstreamWrites : fan.downstreamWrites - fan.downstreamReleases + Math.round((fan.downstreamReleases * 10_000) / FAN_OUT);
    console.log(
      `  ${FAN_OUT === 10_000 ? "measured" : "projected"} for 10,000 → 1: ${projected} writes (target ≤ ${TARGET_FAN_IN_WRITES}) ${projected <= TARGET_FAN_IN_WRITES ? "PASS" : "MISS"}`,
    );
  } finally {
    await cloud.close();
  }
}

const writeOperations = new Set(["DynamoDB:PutItem", "DynamoDB:UpdateItem", "DynamoDB:TransactWriteItems", "DynamoDB:BatchWriteItem", "DynamoDB:DeleteItem"]);

/** Prints a measurement per task or step; returns its cost per million. */
function report(title: string, m: Measured, per: number): number {
  console.log(`\n${title}: ${(m.ms / 1000).toFixed(1)} s to the result, ${(m.ms / per).toFixed(1)} ms each`);
  const rows = [...m.counts.requests.entries()].sort((a, b) => b[1] - a[1]);
  for (const [operation, n] of rows) {
    const note = operation === "SQS:ReceiveMessage" ? ` (${m.emptyReceives} empty polls of the emulation not counted)` : "";
    const counted = operation === "SQS:ReceiveMessage" ? n - m.emptyReceives : n;
    const units = m.counts.units.get(operation);
    const unitNote = units === undefined ? "" : `  ${(units / per).toFixed(2)} ${writeOperations.has(operation) ? "write" : "read"} units`;
    console.log(`  ${operation.padEnd(30)} ${(counted / per).toFixed(3).padStart(8)}${unitNote}${note}`);
  }
  const sqsRequests = rows.filter(([op]) => op.startsWith("SQS:")).reduce((a, [, n]) => a + n, 0) - m.emptyReceives;
  const cost = {
    sqs: (sqsRequests / per) * PRICE.sqs,
    writes: (m.counts.writeUnits / per) * PRICE.write,
    reads: (m.counts.readUnits / per) * PRICE.read,
    lambda: (m.invocations / per) * PRICE.lambda,
  };
  const total = cost.sqs + cost.writes + cost.reads + cost.lambda;
  console.log(
    `  write units ${(m.counts.writeUnits / per).toFixed(2)} (of which ${(m.counts.indexWriteUnits / per).toFixed(2)} to indexes and ` +
      `${(m.counts.failedConditions / per).toFixed(2)} for failed conditions), read units ${(m.counts.readUnits / per).toFixed(2)}, ` +
      `worker invocations ${(m.invocations / per).toFixed(3)}`,
  );
  console.log(
    `  $ per million: SQS ${cost.sqs.toFixed(2)} + DynamoDB writes ${cost.writes.toFixed(2)} + reads ${cost.reads.toFixed(2)} + Lambda requests ${cost.lambda.toFixed(2)} = ${total.toFixed(2)}` +
      ` (target ≤ ${TARGET_PER_MILLION.toFixed(2)}: ${total <= TARGET_PER_MILLION ? "PASS" : "MISS"})`,
  );
  console.log(
    `  beside: Step Functions Standard ≥ $${PRICE.stepFunctions.toFixed(2)} (one transition per task, ${(PRICE.stepFunctions / total).toFixed(1)}x floe), ` +
      `Lambda durable functions ≥ $${PRICE.durable.toFixed(2)} (one operation per task, ${(PRICE.durable / total).toFixed(1)}x floe)`,
  );
  return total;
}

await main();
