/**
 * Embedded engines a test file makes, each closed after its test, and the check that a
 * refused call wrote nothing.
 */
import { afterEach, expect } from "vitest";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";

/** Registers the closing of every engine made with the returned function, after each test. */
export function useEmbeddedEngines(): (options?: Parameters<typeof createEmbeddedRuntime>[0]) => EmbeddedEngine {
  const engines: EmbeddedEngine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
  });
  return (options = {}) => {
    const created = createEmbeddedRuntime(options);
    engines.push(created);
    return created;
  };
}

/** Nothing was written: no run, no record, no queued message. */
export async function untouched(e: EmbeddedEngine): Promise<void> {
  expect(await e.listRuns()).toEqual([]);
  expect(e.memory.queue.size).toBe(0);
}
