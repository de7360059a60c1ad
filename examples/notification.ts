/**
 * Fire-and-forget: `place_order` submits `send_confirmation_email` and returns without
 * waiting for it. The run's result is ready at once; the email still runs to completion
 * on the engine (and would be retried if it failed), but nothing waits for its outcome.
 * The submission itself is written before `place_order`'s attempt ends, so the email is
 * not lost when the workflow returns.
 *
 * Run it with `npm run demo`.
 */
import { task, workflow } from "floe";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends an order confirmation (a 200 ms stand-in for a mail API call), with 2 retries. */
export const sendConfirmationEmail = task(
  "send_confirmation_email",
  { retries: 2 },
  async (email: string, orderId: string) => {
    await sleep(200);
    return { to: email, subject: `Your order ${orderId} is confirmed` };
  },
);

/**
 * Places an order and sends its confirmation without waiting for the email.
 *
 * @example
 * const placed = await engine.submit(placeOrder, "ada@example.com").result();
 */
export const placeOrder = workflow("place_order", async (email: string) => {
  const orderId = "order-1001";
  // Submitted, never awaited: fire-and-forget. (An Execution is not a promise.)
  sendConfirmationEmail.submit(email, orderId);
  return { orderId, status: "placed" };
});
