/**
 * Completion events: be told when a run ends, and when something nobody waits for fails,
 * without polling. `checkout` charges a card and sends a receipt it does not wait for; the
 * receipt fails. The program prints the events floe publishes: on AWS these are EventBridge
 * events (`source: "floe"`) a rule sends to SNS, a queue or a function; here the embedded
 * engine hands them to `onRunEvent`.
 *
 * Run it with `npx tsx examples/run-events.ts`.
 */
import { pathToFileURL } from "node:url";
import { createEngine, task, workflow, type RunEvent } from "floe";

/** Charges a card (a stand-in for a payment API). */
export const charge = task("charge", async (orderId: string, cents: number) => ({ orderId, cents, chargeId: `ch_${orderId}` }));

/** Mails a receipt; the mail service is down. */
export const sendReceipt = task("send_receipt", { retries: { limit: 0 } }, async (orderId: string) => {
  throw new Error(`the mail service refused the receipt for ${orderId}`);
});

/** Charges, then sends the receipt in the background: the run does not wait for it. */
export const checkout = workflow("checkout", async (orderId: string, cents: number) => {
  const payment = await charge(orderId, cents);
  sendReceipt.submit(orderId);
  return payment;
});

/** One line per event, as an alerting rule would see it. */
export function describeEvent({ detailType, detail }: RunEvent): string {
  const failure = detail.error === undefined ? "" : `: ${detail.error.message}`;
  return `${detailType} ${detail.task} (${detail.executionId}) after ${detail.durationMs} ms${failure}`;
}

/** Runs one checkout and returns the events it published, in order. */
export async function checkoutWithEvents(orderId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  await using engine = createEngine({ onRunEvent: (event) => events.push(event) });
  await engine.submit(checkout, orderId, 4_200).result();
  // The receipt runs on after the run's result: wait for its failure to be announced.
  for (let turn = 0; turn < 1_000 && events.length < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  return events;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const event of await checkoutWithEvents("order-17")) console.log(describeEvent(event));
}
