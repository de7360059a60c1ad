/**
 * The demo (`npm run demo`): runs each example on its own embedded engine and prints its
 * result and a timeline of its run. Takes about three seconds.
 */
import { inspect } from "node:util";
import { State, type Execution } from "floe";
import type { RunView } from "../sdk/engine/model.ts";
// The timeline reads the stored records, which only the runtime behind an engine gives.
import { createEmbeddedRuntime, type EmbeddedEngine } from "../sdk/embedded/embedded-engine.ts";
import { elevator } from "./elevator.ts";
import { checkout } from "./flaky-payment.ts";
import { placeOrder } from "./notification.ts";
import { processOrder } from "./process-order.ts";
import { renderTimeline } from "../sdk/cli/timeline.ts";

const terminal: ReadonlySet<string> = new Set([State.Completed, State.Failed, State.Cancelled]);

/**
 * Reads a run once every execution in it has finished: a run's result can be ready
 * while work it submitted (fire-and-forget) is still going.
 *
 * @throws Error when the run is unknown or still unfinished after `timeoutMs`
 */
async function settledRun(engine: EmbeddedEngine, runId: string, timeoutMs = 10_000): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await engine.getRun(runId);
    if (run === undefined) throw new Error(`run ${runId} is unknown to this engine`);
    if (run.executions.every((e) => terminal.has(e.state))) return run;
    if (Date.now() > deadline) {
      const open = run.executions.filter((e) => !terminal.has(e.state)).map((e) => `${e.taskName} (${e.state})`);
      throw new Error(`run ${runId} still has unfinished executions after ${timeoutMs} ms: ${open.join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One example: how to start its run, and what its timeline shows. */
interface Example {
  readonly title: string;
  readonly note: string;
  readonly concurrency?: number;
  readonly start: (engine: EmbeddedEngine) => Execution<unknown>;
}

const examples: readonly Example[] = [
  {
    title: "process_order: parallel loads, an order that waits for them, a forwarded result",
    note: "load_user and load_product overlap; create_order waits (·) until both finish; process_order returned at once.",
    start: (engine) => engine.submit(processOrder, "u1", "p1"),
  },
  {
    title: "elevator: floors 10 to 1 on createEngine({ concurrency: 3 })",
    note:
      "never more than three stops run at once, and each new stop starts as one finishes; elevator() shows as " +
      "running while it waits in wait(), but it holds no concurrency slot meanwhile.",
    concurrency: 3,
    start: (engine) => engine.submit(elevator),
  },
  {
    title: "place_order: a fire-and-forget confirmation email",
    note: "place_order finished before the email did; nothing waited for the email, yet it completed.",
    start: (engine) => engine.submit(placeOrder, "ada@example.com"),
  },
  {
    title: "checkout: charge_card retried with exponential backoff",
    note:
      "charge_card ran three attempts; the gaps between them are the 100 ms and 200 ms backoff. Each attempt's log " +
      "lines: npx floe run examples/flaky-payment.ts checkout order-42 4999 --logs",
    start: (engine) => engine.submit(checkout, "order-42", 4999),
  },
];

const began = Date.now();
for (const [i, example] of examples.entries()) {
  // The tasks' log lines are kept, not printed: `floe run … --logs` prints them.
  const engine = createEmbeddedRuntime({ printLogs: false, ...(example.concurrency === undefined ? {} : { concurrency: example.concurrency }) });
  try {
    const execution = example.start(engine);
    const result = await execution.result();
    const run = await settledRun(engine, execution.id);
    console.log(`${i === 0 ? "" : "\n"}== ${i + 1}. ${example.title}`);
    console.log(`result: ${inspect(result, { depth: 4, breakLength: 100 })}`);
    console.log(`\n${renderTimeline(run)}`);
    console.log(`\n${example.note}`);
  } finally {
    await engine.close();
  }
}
console.log(`\n${examples.length} runs in ${((Date.now() - began) / 1000).toFixed(2)} s`);
