/**
 * Reusing executions: `autosave` is debounced per document (a burst of edits saves once,
 * with the last text), `exchange_rate` is cached for a minute across runs, and `load_customer`
 * is memoised within a run (every identical call in the run shares one execution).
 *
 * Run it with `floe run examples/reuse.ts cart_checkout u1 EUR` (twice within a minute: the
 * second run's rate comes from the cache, `cached from …` in `floe inspect`).
 */
import { task, workflow } from "floe";

/** Saves a document (a stand-in for a database write); debounced: the last edit in 2 s wins. */
export const autosave = task(
  "autosave",
  { debounce: { periodMs: 2_000, maxWaitMs: 10_000, key: (doc: { id: string; text: string }) => doc.id } },
  async (doc: { id: string; text: string }) => ({ saved: doc.text, length: doc.text.length }),
);

/** Fetches an exchange rate (a stand-in for a paid API call); its result is reused for a minute. */
export const exchangeRate = task("exchange_rate", { cache: { ttlMs: 60_000 } }, async (currency: string) => ({
  currency,
  rate: currency === "EUR" ? 1.08 : 1,
  fetchedAt: new Date().toISOString(),
}));

/** Loads a user (a stand-in for a database read); one execution per user within a run. */
export const loadCustomer = task("load_customer", { memo: true }, async (userId: string) => ({ id: userId, name: `user ${userId}` }));

/** Prices a cart line: loads the user again, which the run's memo answers. */
export const priceLine = task("price_line", async (userId: string, cents: number) => {
  const user = await loadCustomer(userId);
  return { user: user.id, cents };
});

/**
 * Checks out a cart: the user is loaded once for the whole run, the rate comes from the
 * cache when a run fetched it within the minute.
 *
 * @example
 * const result = await engine.submit(cartCheckout, "u1", "EUR").result();
 */
export const cartCheckout = workflow("cart_checkout", async (userId: string, currency: string) => {
  const user = await loadCustomer(userId);
  const lines = await Promise.all([priceLine(userId, 1_200), priceLine(userId, 800)]);
  const { rate } = await exchangeRate(currency);
  return { user: user.name, total: Math.round(lines.reduce((sum, line) => sum + line.cents, 0) * rate) };
});

/**
 * Types a document out key by key: each keystroke calls `autosave`, and only the last one,
 * two seconds after the typing stopped, runs. Every keystroke's execution resolves to it.
 */
export const typeOut = workflow("type_out", async (docId: string, text: string) => {
  const saves = [...text].map((_, i) => autosave.submit({ id: docId, text: text.slice(0, i + 1) }));
  const results = await Promise.all(saves.map((save) => save.result()));
  return { keystrokes: saves.length, saved: results.map((r) => r.saved) };
});
