import { afterEach, describe, expect, it } from "vitest";
import { State, task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";

let gateOpen!: () => void;
const gate = new Promise<void>((resolve) => (gateOpen = resolve));
const blocked = task("s_blocked", async () => {
  await gate;
  return 1;
});
const parent = workflow("s_parent", async () => blocked.submit().result());

const engines: EmbeddedEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe("suspension after a grace period", () => {
  it("suspends a task whose wait outlasts suspendAfterMs, without waiting for a free slot first", async () => {
    const engine = createEmbeddedRuntime({ concurrency: 1, suspendAfterMs: 20 });
    engines.push(engine);
    const run = engine.submit(parent);
    // The only slot is taken by s_blocked, which waits for the gate: the parent must still suspend.
    for (let i = 0; i < 200 && (await engine.getExecution(run.id))?.state !== State.Suspended; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect((await engine.getExecution(run.id))?.state).toBe(State.Suspended);
    gateOpen();
    expect(await run.result()).toBe(1);
    const history = (await engine.getExecution(run.id))?.history.map((h) => h.state);
    expect(history).toEqual([State.Queued, State.Running, State.Suspended, State.Queued, State.Running, State.Completed]);
  });
});
