/**
 * Retries with backoff: `charge_card` fails its first two attempts (a flaky payment
 * gateway) and succeeds on the third. With `retries: { limit: 3, delayMs: 100, backoff:
 * "exponential" }` floe waits 100 ms before the second attempt and 200 ms before the
 * third; `taskContext()` tells the task which attempt it is in, and `log` keeps each
 * attempt's lines with the execution (`floe inspect`, the dashboard, `engine.getLogs`).
 *
 * Run it with `npm run demo`.
 */
import { log, task, taskContext, workflow } from "floe";

/** What a successful charge returns. */
export interface Receipt {
  readonly orderId: string;
  readonly amountCents: number;
  /** The attempt that succeeded, 1-based. */
  readonly attempt: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Charges a card through a gateway that times out twice, then succeeds. */
export const chargeCard = task(
  "charge_card",
  { retries: { limit: 3, delayMs: 100, backoff: "exponential" } },
  async (orderId: string, amountCents: number): Promise<Receipt> => {
    const attempt = taskContext()?.attempt ?? 1;
    log.info("charging", { orderId, amountCents });
    await sleep(50);
    if (attempt < 3) {
      log.warn("the payment gateway timed out", { orderId });
      throw new Error(`payment gateway timed out (attempt ${attempt})`);
    }
    log.info("charged", { orderId });
    return { orderId, amountCents, attempt };
  },
);

/**
 * Charges the order's card and waits for it: the retries happen inside `charge_card`'s
 * execution, so the workflow sees only the final receipt.
 *
 * @example
 * const { receipt } = await checkout("order-42", 4999);
 */
export const checkout = workflow("checkout", async (orderId: string, amountCents: number) => {
  const receipt = await chargeCard(orderId, amountCents);
  return { orderId, paid: true, receipt };
});
