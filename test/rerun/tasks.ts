/**
 * Tasks of the re-run scenarios: leaves that fail while their key is in `failing`, a
 * downstream that waits for its leaf (`wait: true`), a fan-out over both, and a run held at
 * a latch so that it can be cancelled while live. Counters (`probes.ts`) count each body's runs.
 */
import { task, workflow, type Execution } from "floe";
import { count, latch } from "../conformance/probes.ts";

/** Keys (`<run key>:<leaf>`) whose leaf throws; a test clears them before it re-runs. */
export const failing = new Set<string>();

export const rrLeaf = task("rr_leaf", async (key: string, i: number) => {
  count(`${key}:leaf:${i}`);
  if (failing.has(`${key}:${i}`)) throw new Error(`leaf ${i} of ${key} failed`);
  return i;
});

/** Starts once its leaf has finished, failed or not: a `wait:` downstream. */
export const rrDouble = task("rr_double", { wait: true }, async (key: string, leaf: Execution<number>) => {
  count(`${key}:double`);
  return 2 * (await leaf.result());
});

/** `n` leaves, each doubled by a downstream that waits for it; the sum of the doubles. */
export const rrFanOut = workflow("rr_fan_out", async (key: string, n: number) => {
  const doubles = Array.from({ length: n }, (_, i) => rrDouble.submit(key, rrLeaf.submit(key, i)));
  const values = await Promise.all(doubles.map((d) => d.result()));
  return values.reduce((sum, v) => sum + v, 0);
});

/** Waits at the latch named by its key. */
export const rrGate = task("rr_gate", async (key: string) => {
  count(`${key}:gate`);
  await latch(key);
  return "opened";
});

/** A leaf, then the gate: cancelled while the gate waits, re-run once it is open. */
export const rrGated = workflow("rr_gated", async (key: string) => {
  const first = await rrLeaf.submit(key, 0).result();
  return `${first} ${await rrGate.submit(key).result()}`;
});

/** Retried once: its leaf fails for good while its key is in `failing`. */
export const rrRetried = workflow("rr_retried", { retries: { limit: 1, delayMs: 1 } }, async (key: string) => rrLeaf.submit(key, 0).result());

/** Runs in its caller's attempt (`inline`), failing while `<key>:inline` is in `failing`. */
export const rrInlineStep = task("rr_inline_step", { inline: true }, async (key: string) => {
  count(`${key}:inline`);
  if (failing.has(`${key}:inline`)) throw new Error(`the inline step of ${key} failed`);
  return "stepped";
});

/** A workflow whose step runs inline, after a leaf that completes. */
export const rrInlineFlow = workflow("rr_inline_flow", async (key: string) => {
  const leaf = await rrLeaf.submit(key, 0).result();
  return `${leaf} ${await rrInlineStep(key)}`;
});
