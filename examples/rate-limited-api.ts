/**
 * Flow control: `call_partner` calls a partner's API that allows 2 calls at once per
 * tenant and 5 calls a second in all. A sync of many accounts submits every call at once;
 * the calls over a limit wait `queued` (no worker runs, and on AWS no Lambda is invoked)
 * and start when a slot frees or the rate window has room. `floe inspect` says which limit
 * holds each one ("held by the concurrency limit of call_partner (2 at once, key "acme")").
 *
 * Run it with `floe run examples/rate-limited-api.ts sync_accounts acme 8`.
 */
import { task, workflow } from "floe";

/** One call to the partner's API (a stand-in: it answers with the account it synced). */
export const callPartner = task(
  "call_partner",
  {
    concurrency: { limit: 2, key: (tenant: string) => tenant },
    rateLimit: { limit: 5, periodMs: 1_000 },
    retries: 2,
  },
  async (tenant: string, account: number) => ({ tenant, account, syncedAt: new Date() }),
);

/**
 * Syncs `count` accounts of a tenant, all submitted at once; the limits pace them.
 *
 * @example
 * const synced = await engine.submit(syncAccounts, "acme", 8).result();
 */
export const syncAccounts = workflow("sync_accounts", async (tenant: string, count: number) => {
  const calls = Array.from({ length: count }, (_, account) => callPartner.submit(tenant, account));
  const results = await Promise.all(calls.map((call) => call.result()));
  return results.map((r) => r.account);
});
