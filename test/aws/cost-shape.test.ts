/**
 * What issue 14's levers promise, as requests on the local cloud (each function on runtimes
 * of its own, the real DynamoDB store on DynamoDB Local): counts that do not depend on
 * timing. The prices are bench:cloud's; these are the shapes behind them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { task, workflow, type Execution } from "floe";
import { startEmulators, startLocalCloud, type Emulators, type LocalCloud } from "floe/local-cloud";
import { countRequests, newRequestCounts } from "../../sdk/aws/request-counter.ts";

const counts = newRequestCounts();
/** The update expressions of every UpdateItem, in order. */
const updates: string[] = [];
let emulators: Emulators;
let cloud: LocalCloud;

beforeAll(async () => {
  emulators = await startEmulators();
  cloud = await startLocalCloud({
    endpoints: emulators.endpoints,
    prefix: "cs",
    // Every await suspends: each step of a chain is a re-run of its parent.
    suspendAfterMs: 0,
    resultRecheckMs: 50,
    instrument: (clients) => {
      countRequests(clients, counts);
      clients.dynamodb.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === "UpdateItemCommand") updates.push(String((args.input as { UpdateExpression?: string }).UpdateExpression));
          return next(args);
        },
        { step: "initialize", name: "costShapeUpdates" },
      );
    },
  });
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  await emulators?.stop();
});

const step = task("cs_step", async (x: number) => x + 1);
const chain = workflow("cs_chain", async (steps: number) => {
  let x = 0;
  for (let i = 0; i < steps; i++) x = await step(x);
  return x;
});
const leaf = task("cs_leaf", async (i: number) => i);
const join = task("cs_join", { wait: true }, async (xs: Execution<number>[]) =>
  (await Promise.all(xs.map((x) => x.result()))).reduce((a, b) => a + b, 0),
);
const quick = task("cs_quick", { inline: true }, async (x: number) => x + 1);
const inlineChain = workflow("cs_inline_chain", async (steps: number) => {
  let x = 0;
  for (let i = 0; i < steps; i++) x = await quick(x);
  return x;
});
const fanOut = workflow("cs_fan_out", async (n: number) => join.submit(Array.from({ length: n }, (_, i) => leaf.submit(i))));

function reset(): void {
  Object.assign(counts, newRequestCounts());
  updates.length = 0;
}

describe("what a run writes and reads, on the local cloud", () => {
  it("re-runs an awaited chain's parent without creating or reading its earlier steps again", async () => {
    reset();
    const steps = 8;
    expect(await cloud.submit(chain, steps).result()).toBe(steps);
    // One put per execution (a re-run that put its earlier steps again would add one per
    // step, each failing its condition): a re-run finds its children in one read.
    expect(counts.requests.get("DynamoDB:PutItem")).toBe(steps + 1);
    // That read is one query per re-run, and nothing queries otherwise.
    expect(counts.requests.get("DynamoDB:Query")).toBe(steps);
  }, 120_000);

  it("writes a short inline step once, completed", async () => {
    reset();
    const steps = 6;
    expect(await cloud.submit(inlineChain, steps).result()).toBe(steps);
    // A put per step and the workflow's own; the workflow's claim and completion are the only updates.
    expect(counts.requests.get("DynamoDB:PutItem")).toBe(steps + 1);
    expect(counts.requests.get("DynamoDB:UpdateItem")).toBe(2);
    const run = await cloud.getRun((await cloud.listRuns({ taskName: "cs_inline_chain", limit: 1 }))[0]!.id);
    const step = run?.executions.find((e) => e.task === "cs_quick");
    expect(step?.history.map((h) => h.state)).toEqual(["running", "completed"]);
  }, 120_000);

  it("writes a join's links with the records of the upstreams submitted in its turn, and counts its releases on the join alone", async () => {
    reset();
    const width = 60;
    expect(await cloud.submit(fanOut, width).result()).toBe((width * (width - 1)) / 2);
    // No update sets a link: each went with its upstream's put.
    expect(updates.filter((expression) => expression.includes("#links."))).toEqual([]);
    // A release is one conditional update of the join, grouped by the coordinator, and no
    // transaction is made.
    const releases = updates.filter((expression) => /pending = (pending - :count|:zero)/.test(expression));
    expect(releases.length).toBeGreaterThan(0);
    // Grouped: fewer releases than upstreams (a stream batch gathers those that finish together).
    expect(releases.length).toBeLessThan(width);
    expect(counts.requests.get("DynamoDB:TransactWriteItems")).toBeUndefined();
    // A record per execution, and no index entry for any but the root.
    expect(counts.requests.get("DynamoDB:PutItem")).toBe(width + 2);
    expect(counts.indexWriteUnits).toBeLessThanOrEqual(4);
  }, 120_000);
});
