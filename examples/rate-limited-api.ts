/**
 * Flow control: `sync_account` calls a partner's API that allows 2 calls at once per
 * tenant and 5 calls a second in all. A sync of many accounts submits every call at once;
 * the calls over a limit wait `queued` (no worker runs, and on AWS no Lambda is invoked)
 * and start when a slot frees or the next rate window begins. `floe inspect` says which
 * limit holds each one ("held by the concurrency limit of sync_account (2 at once, key "acme")").
 *
 * Run it with `floe run examples/rate-limited-api.ts sync_accounts acme 8`.
 */
import { task, workflow } from "floe";

/** One call to the partner's API (a stand-in: it answers with the account it synced, after `ms`). */
export const syncAccount = task(
  "sync_account",
  {
    concurrency: { limit: 2, key: (tenant: string) => tenant },
    rateLimit: { limit: 5, periodMs: 1_000 },
    retries: 2,
  },
  async (tenant: string, account: number, ms?: number) => {
    if (ms !== undefined && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return { tenant, account, syncedAt: new Date() };
  },
);

/**
 * Syncs `count` accounts of a tenant, all submitted at once; the limits pace them. Each call
 * takes `ms` milliseconds at the partner.
 *
 * @example
 * const synced = await engine.submit(syncAccounts, "acme", 8).result();
 */
export const syncAccounts = workflow("sync_accounts", async (tenant: string, count: number, ms?: number) => {
  const calls = Array.from({ length: count }, (_, account) => syncAccount.submit(tenant, account, ms));
  const results = await Promise.all(calls.map((call) => call.result()));
  return results.map((r) => r.account);
});
