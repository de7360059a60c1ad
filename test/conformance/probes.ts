/**
 * Observation points for the conformance tasks: latches a test opens when it chooses, and
 * counters of how often a body ran. Module state, so they work wherever the tasks run in
 * this process (the embedded engine, or the local cloud's in-process handlers).
 */
const latches = new Map<string, { promise: Promise<void>; open: () => void }>();
const counters = new Map<string, number>();
const gauges = new Map<string, { now: number; max: number }>();

function latchFor(name: string): { promise: Promise<void>; open: () => void } {
  let latch = latches.get(name);
  if (latch === undefined) {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    latch = { promise, open };
    latches.set(name, latch);
  }
  return latch;
}

/** Resolves once `openLatch(name)` is called. */
export function latch(name: string): Promise<void> {
  return latchFor(name).promise;
}

/** Releases everything waiting on `latch(name)`. */
export function openLatch(name: string): void {
  latchFor(name).open();
}

/** Adds one to a counter and returns the new count. */
export function count(name: string): number {
  const n = (counters.get(name) ?? 0) + 1;
  counters.set(name, n);
  return n;
}

/** Reads a counter. */
export function counted(name: string): number {
  return counters.get(name) ?? 0;
}

/** Tracks how many holders are inside a section at once. */
export async function measured<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const gauge = gauges.get(name) ?? { now: 0, max: 0 };
  gauges.set(name, gauge);
  gauge.now += 1;
  gauge.max = Math.max(gauge.max, gauge.now);
  try {
    return await fn();
  } finally {
    gauge.now -= 1;
  }
}

/** The most holders seen inside `measured(name)` at once. */
export function peak(name: string): number {
  return gauges.get(name)?.max ?? 0;
}

/** A unique key per test, so counters and latches never collide. */
export function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
