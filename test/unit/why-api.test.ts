/**
 * `GET /runs/{id}` of a live run on the embedded engine says why each unfinished execution
 * is not done, and `floe inspect`'s tree prints it: a downstream waits on its named upstream,
 * held by a gate the test opens.
 */
import { afterEach, describe, expect, it } from "vitest";
import { task, workflow, type Execution } from "floe";
import { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { handleRequest } from "../../sdk/http/routes.ts";
import { tree } from "../../sdk/cli/render.ts";
import type { RunJson } from "../../sdk/http/views.ts";

const turns = async (n = 30) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

let open!: () => void;
export const charge = task("why_charge_card", async () => {
  await new Promise<void>((resolve) => (open = resolve));
  return 1;
});
export const ship = task("why_ship", { wait: true }, async (charged: Execution<number>) => (await charged.result()) + 1);
// The workflow returns the downstream unawaited: the run finishes when it does.
export const order = workflow("why_order", async () => {
  const charged = charge.submit();
  return ship.submit(charged);
});

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function runJson(runtime: EmbeddedEngine, id: string): Promise<RunJson> {
  const response = await handleRequest(runtime, { method: "GET", path: `/runs/${id}`, query: {}, headers: {}, body: undefined, caller: "test" });
  expect(response.status).toBe(200);
  return response.body as RunJson;
}

describe("why a live run's executions are not done", () => {
  it("names the upstream a downstream waits on, and says nothing once all are done", async () => {
    const runtime = new EmbeddedEngine();
    engine = runtime;
    const run = runtime.submit(order);
    await turns();
    const view = await runJson(runtime, run.id);
    const upstream = view.executions.find((e) => e.task === "why_charge_card")!;
    const downstream = view.executions.find((e) => e.task === "why_ship")!;
    expect(downstream.state).toBe("waiting");
    expect(downstream.why).toEqual({
      reason: "waiting-upstreams",
      text: "waiting on its upstream: why_charge_card (running)",
      upstreams: [{ id: upstream.id, task: "why_charge_card", state: "running" }],
    });
    expect(upstream.why).toMatchObject({ reason: "running" });
    expect(tree(view, undefined, Date.now())).toContain("⏲ waiting on its upstream: why_charge_card (running)");

    open();
    expect(await run.result()).toBe(2);
    const done = await runJson(runtime, run.id);
    expect(done.executions.every((e) => e.why === undefined)).toBe(true);
  });
});
