/**
 * Task logs on the embedded engine: `log` and `console` inside a task are tagged with their
 * execution and attempt and kept with it, within the documented bound; outside a task
 * they go to the console untouched; `GET /executions/{id}/logs` reads them back.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { log, task, workflow } from "floe";
import { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { handleRequest, type HttpResponse } from "../../sdk/http/routes.ts";
import type { ExecutionLogsJson } from "../../sdk/logs/log-line.ts";
import { MAX_LINES_PER_EXECUTION } from "../../sdk/logs/memory-execution-logs.ts";
import { restoreConsole } from "../../sdk/logs/log.ts";
import { ManualClock } from "../support/sim-sqs.ts";

let failures = 0;
export const flakyCharge = task("logs_flaky_charge", { retries: { limit: 2, delayMs: 0 } }, async (amount: number) => {
  log.info("charging", { amount, big: 12345678901234567890n });
  console.warn("attempt", failures + 1, "of the charge");
  if (failures < 1) {
    failures += 1;
    throw new Error("the card network timed out");
  }
  return amount;
});
export const chatty = task("logs_chatty", async (n: number) => {
  for (let i = 0; i < n; i += 1) console.log(`line ${i}`);
  return n;
});
export const order = workflow("logs_order", async (amount: number) => {
  log.debug("order received");
  return flakyCharge(amount);
});
export const awkward = task("logs_awkward", async () => {
  const cycle: Record<string, unknown> = { name: "node" };
  cycle.self = cycle;
  const error = Object.assign(new Error("refused"), { code: "E_REFUSED" });
  const throwing = { toJSON: () => { throw new Error("no JSON for you"); } };
  log.error("odd fields", { cycle, error, throwing, set: new Set([1, 2]), map: new Map([["a", 1]]), fn: function named() {} });
  log.info("x".repeat(20_000));
  return true;
});

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  // The capture wraps whatever the console has when a runtime is made: the test's spies.
  restoreConsole();
  vi.restoreAllMocks();
});

const get = (runtime: EmbeddedEngine, path: string, query: Record<string, string> = {}): Promise<HttpResponse> =>
  handleRequest(runtime, { method: "GET", path, query, headers: {}, body: undefined, caller: "test" });

async function logsOf(runtime: EmbeddedEngine, id: string, query: Record<string, string> = {}): Promise<ExecutionLogsJson> {
  const response = await get(runtime, `/executions/${encodeURIComponent(id)}/logs`, query);
  expect(response.status).toBe(200);
  return response.body as ExecutionLogsJson;
}

describe("task logs on the embedded engine", () => {
  it("tags log and console lines with their attempt: a retried task shows each attempt's lines", async () => {
    failures = 0;
    const clock = new ManualClock(1_800_000_000_000);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const runtime = new EmbeddedEngine({ clock });
    engine = runtime;
    const run = runtime.submit(order, 42);
    expect(await run.result()).toBe(42);
    const charge = (await runtime.getRun(run.id))!.executions.find((e) => e.taskName === "logs_flaky_charge")!;

    const all = await logsOf(runtime, charge.id);
    expect(all.executionId).toBe(charge.id);
    expect(all.lines.map((l) => [l.attempt, l.level, l.message])).toEqual([
      [1, "info", "charging"],
      [1, "warn", "attempt 1 of the charge"],
      [2, "info", "charging"],
      [2, "warn", "attempt 2 of the charge"],
    ]);
    expect(all.lines[0]).toEqual({ at: new Date(clock.now()).toISOString(), level: "info", message: "charging", fields: { amount: 42, big: "12345678901234567890" }, attempt: 1 });
    expect(all.dropped).toBeUndefined();
    const second = await logsOf(runtime, charge.id, { attempt: "2" });
    expect(second.lines.map((l) => [l.attempt, l.message])).toEqual([
      [2, "charging"],
      [2, "attempt 2 of the charge"],
    ]);
    // The workflow's own line is its own, not its child's.
    expect((await logsOf(runtime, run.id)).lines).toMatchObject([{ level: "debug", message: "order received", attempt: 1 }]);
  });

  it("prints a kept console line as before, and leaves console calls outside any task untouched", async () => {
    const printed: unknown[][] = [];
    // The spy sits under the capture, as the terminal does.
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void printed.push(args));
    const runtime = new EmbeddedEngine();
    engine = runtime;
    const run = runtime.submit(chatty, 2);
    await run.result();
    console.log("outside", 1);
    expect(printed).toEqual([["line 0"], ["line 1"], ["outside", 1]]);
    expect((await logsOf(runtime, run.id)).lines.map((l) => l.message)).toEqual(["line 0", "line 1"]);
  });

  it("keeps a task's console line without printing it with printLogs: false", async () => {
    const printed: unknown[][] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void printed.push(args));
    const runtime = new EmbeddedEngine({ printLogs: false });
    engine = runtime;
    const run = runtime.submit(chatty, 1);
    await run.result();
    expect(printed).toEqual([]);
    expect((await logsOf(runtime, run.id)).lines.map((l) => l.message)).toEqual(["line 0"]);
  });

  it(`keeps the last ${MAX_LINES_PER_EXECUTION} lines of an execution and counts those dropped`, async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const runtime = new EmbeddedEngine();
    engine = runtime;
    const run = runtime.submit(chatty, MAX_LINES_PER_EXECUTION + 5);
    await run.result();
    const page = await logsOf(runtime, run.id);
    expect(page.lines).toHaveLength(MAX_LINES_PER_EXECUTION);
    expect(page.dropped).toBe(5);
    expect(page.lines[0]?.message).toBe("line 5");
    expect(page.lines.at(-1)?.message).toBe(`line ${MAX_LINES_PER_EXECUTION + 4}`);
  });

  it("serialises awkward fields without throwing, and bounds a long message", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
    const runtime = new EmbeddedEngine();
    engine = runtime;
    const run = runtime.submit(awkward);
    expect(await run.result()).toBe(true);
    const [odd, long] = (await logsOf(runtime, run.id)).lines;
    expect(odd?.fields).toMatchObject({
      cycle: { name: "node", self: "[Circular]" },
      error: { name: "Error", message: "refused", code: "E_REFUSED" },
      throwing: "[Unserializable: no JSON for you]",
      set: [1, 2],
      map: { a: 1 },
      fn: "[Function named]",
    });
    expect(Buffer.byteLength(long!.message)).toBeLessThanOrEqual(8_192);
    expect(long!.message.endsWith("…")).toBe(true);
  });

  it("answers 404 for an unknown execution and 400 naming the fix for a bad attempt", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const runtime = new EmbeddedEngine();
    engine = runtime;
    const run = runtime.submit(chatty, 1);
    await run.result();
    const unknown = await get(runtime, "/executions/nope/logs");
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "FLOE_UNKNOWN_EXECUTION" } } });
    for (const attempt of ["0", "2", "two", "1.5"]) {
      const bad = await get(runtime, `/executions/${encodeURIComponent(run.id)}/logs`, { attempt });
      expect(bad.status).toBe(400);
      expect((bad.body as { error: { fields: Record<string, string> } }).error.fields.attempt).toContain("attempt must be a whole number from 1 to 1");
    }
  });
});
