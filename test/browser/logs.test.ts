/**
 * The execution view's Logs section in a real browser (Debian's Chromium driven by
 * playwright-core): each attempt's lines under that attempt, read from
 * `GET /executions/{id}/logs`. The screenshot goes to test-artifacts/ (and docs/ with
 * FLOE_UPDATE_DOCS=1, for the README).
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { log, task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { localApi, startServer, type Server } from "../../sdk/cli/server.ts";
import { restoreConsole } from "../../sdk/logs/log.ts";
import { screenshot } from "../support/screenshots.ts";

const executablePath = process.env.FLOE_CHROMIUM ?? "/usr/bin/chromium";
const missing = !existsSync(executablePath) && process.env.CI !== "true";
const artifacts = new URL("../../test-artifacts/", import.meta.url);

let calls = 0;
const fetchRates = task("browser_fetch_rates", { retries: { limit: 1, delayMs: 1, backoff: "fixed" } }, async (currency: string) => {
  calls += 1;
  log.info("fetching rates", { currency, call: calls });
  if (calls === 1) {
    log.error("the rates service refused", { status: 503 });
    throw new Error("503 from the rates service");
  }
  console.log("got %d rates", 42);
  return 42;
});
const rates = workflow("browser_rates", async (currency: string) => fetchRates(currency));

describe.skipIf(missing)("the dashboard's logs", () => {
  let engine: EmbeddedEngine;
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    vi.stubEnv("HOME", await mkdtemp(join(tmpdir(), "floe-browser-home-")));
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    engine = createEmbeddedRuntime();
    server = await startServer(localApi(() => engine), { host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await engine?.close();
    restoreConsole();
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("shows each attempt's lines under that attempt in the execution view", async () => {
    const run = engine.submit(rates, "EUR");
    await run.result();
    const charge = (await engine.getRun(run.id))!.executions.find((e) => e.taskName === "browser_fetch_rates")!;
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${server.url}/#/runs/${encodeURIComponent(run.id)}/${encodeURIComponent(charge.id)}`);
    await page.waitForSelector(`section.logs[data-logs-for="${charge.id}"] .log-attempt[data-attempt="2"]`);
    const first = await page.locator('section.logs .log-attempt[data-attempt="1"] .log-line').allTextContents();
    const second = await page.locator('section.logs .log-attempt[data-attempt="2"] .log-line').allTextContents();
    expect(first.map((l) => l.slice(13).trim())).toEqual(['info  fetching rates {"currency":"EUR","call":1}', 'error the rates service refused {"status":503}']);
    expect(second.map((l) => l.slice(13).trim())).toEqual(['info  fetching rates {"currency":"EUR","call":2}', "info  got 42 rates"]);
    expect(await page.locator('section.logs .log-line.level-error').count()).toBe(1);
    await screenshot(page, "#execution", "logs.png", true);
  }, 30_000);
});
