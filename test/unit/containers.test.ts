/**
 * The local cloud's containers: an event runs on a free warm container, or on a new one
 * when every container of its function is busy, as Lambda does.
 */
import { describe, expect, it } from "vitest";
import { createEmbeddedRuntime } from "../../sdk/embedded/embedded-engine.ts";
import { FunctionContainers } from "../../sdk/local-cloud/containers.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";

/** A function whose every event waits for its gate and answers with the runtime it ran on. */
function gatedFunction() {
  const started: Runtime[] = [];
  const containers = new FunctionContainers<Promise<void>, Runtime>(
    "gated",
    () => {
      const runtime = createEmbeddedRuntime();
      started.push(runtime);
      return runtime;
    },
    (runtime) => async (gate) => {
      await gate;
      return runtime;
    },
  );
  return { containers, started };
}

describe("local cloud containers", () => {
  it("starts a container for an event that finds every container busy, and reuses a free one", async () => {
    const { containers, started } = gatedFunction();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const [first, second] = [containers.invoke(gate), containers.invoke(gate)];
    open();
    const [a, b] = await Promise.all([first, second]);
    expect(a).not.toBe(b);
    expect(started).toHaveLength(2);
    expect(started).toContain(await containers.invoke(Promise.resolve()));
    expect(containers.started).toBe(2);
    await containers.close();
  });

  it("closes every container's runtime, and refuses events once closed", async () => {
    const { containers, started } = gatedFunction();
    await Promise.all([containers.invoke(Promise.resolve()), containers.invoke(Promise.resolve())]);
    await containers.close();
    expect(started.every((runtime) => runtime.closed)).toBe(true);
    await expect(containers.invoke(Promise.resolve())).rejects.toThrow(/the function gated was invoked after the local cloud closed/);
  });
});
