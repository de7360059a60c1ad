/**
 * `"startAt"` and `"delayMs"` in `POST /workflows/{name}/executions`: a delayed start over
 * the HTTP API, shown as `notBefore` in the execution's view; bad values are a 400 naming
 * the field, the value and the fix, and write nothing. Time is the test's clock.
 */
import { afterEach, describe, expect, it } from "vitest";
import { State, workflow } from "floe";
import { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { handleRequest } from "../../sdk/http/routes.ts";
import { ManualClock } from "../support/sim-sqs.ts";

export const ping = workflow("dsa_ping", async (to: string) => `pinged ${to}`);

const NOW = Date.UTC(2027, 0, 4, 9, 0, 0);
let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
});

function post(runtime: EmbeddedEngine, body: unknown) {
  return handleRequest(runtime, { method: "POST", path: "/workflows/dsa_ping/executions", query: {}, headers: {}, body: JSON.stringify(body), caller: "test" });
}

describe("a delayed start over the HTTP API", () => {
  it("takes startAt, shows it as notBefore and runs then", async () => {
    const clock = new ManualClock(NOW);
    engine = new EmbeddedEngine({ clock });
    const response = await post(engine, { args: ["ann"], startAt: "2027-01-04T10:00:00Z" });
    expect(response.status).toBe(202);
    const { id } = response.body as { id: string };
    const view = await handleRequest(engine, { method: "GET", path: `/executions/${id}`, query: {}, headers: {}, body: undefined, caller: "test" });
    expect(view.body).toMatchObject({ state: State.Queued, notBefore: NOW + 3_600_000 });
    clock.advance(3_600_000);
    expect(await engine.reference(id).result()).toBe("pinged ann");
  });

  it("takes delayMs", async () => {
    engine = new EmbeddedEngine({ clock: new ManualClock(NOW) });
    const response = await post(engine, { args: ["bo"], delayMs: 5_000 });
    expect(response.status).toBe(202);
    expect(await engine.getExecution((response.body as { id: string }).id)).toMatchObject({ notBefore: NOW + 5_000 });
  });

  it.each([
    [{ startAt: "2027-01-04T08:59:59Z" }, "startAt", /in the past.*pass a future time/],
    [{ startAt: "2027-03-01T00:00:00Z" }, "startAt", /more than 30 days ahead/],
    [{ startAt: "next tuesday" }, "startAt", /ISO 8601/],
    [{ delayMs: -1 }, "delayMs", /0 or more/],
    [{ delayMs: 1.5 }, "delayMs", /whole number/],
    [{ delayMs: 1, startAt: "2027-01-04T10:00:00Z" }, "startAt", /not both/],
  ])("refuses %j with a 400 naming %s, writing nothing", async (extra, field, message) => {
    engine = new EmbeddedEngine({ clock: new ManualClock(NOW) });
    const response = await post(engine, { args: ["cy"], ...extra });
    expect(response.status).toBe(400);
    const error = (response.body as { error: { code: string; message: string; fields: Record<string, string> } }).error;
    expect(error.code).toMatch(/^(FLOE_INVALID_OPTION|FLOE_BAD_REQUEST)$/);
    expect(error.fields[field]).toMatch(message);
    expect(await engine.listRuns()).toEqual([]);
  });
});
