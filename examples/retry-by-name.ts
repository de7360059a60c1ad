/**
 * Retries chosen by error name: `call_partner` retries a timeout (floe's own
 * `TimeoutError`) and a rate limit (a class of its own, `RateLimited`), and nothing else.
 * Names survive bundling: floe's errors name themselves, and floe's bundles keep class names.
 *
 * The example stack deploys it; `test/aws/bundled-cloud.test.ts` runs it in the stack's real bundles.
 */
import { TimeoutError, task, taskContext } from "floe";

/** A partner API's 429: worth retrying, unlike its other errors. */
export class RateLimited extends Error {
  /** @param message - what was limited */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** How the partner fails the first attempt. */
export type PartnerFault = "timeout" | "rate-limit" | "refusal";

/**
 * Calls a partner that fails the first attempt with `fault` and then answers: a timeout or
 * a rate limit is retried, a refusal (a plain `Error`) fails the execution at once.
 */
export const callPartner = task(
  "call_partner",
  { retries: { limit: 2, delayMs: 10, retryOn: ["TimeoutError", "RateLimited"] } },
  async (fault: PartnerFault) => {
    const attempt = taskContext()?.attempt ?? 1;
    if (attempt === 1 && fault === "timeout") throw new TimeoutError("the partner did not answer in time");
    if (attempt === 1 && fault === "rate-limit") throw new RateLimited("the partner allows 10 calls a second");
    if (attempt === 1) throw new Error("the partner refused the call");
    return { fault, attempt };
  },
);
