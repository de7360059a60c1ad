/**
 * The dashboard on a 10,000-execution run, in a real browser (Debian's Chromium driven by
 * playwright-core): the fan-out collapses into one group, the timeline draws only the rows
 * in view, a click on the group expands it, a click on a bar shows its details in view, the
 * graph fits its panel, zooms and pans; and the start form and the cancel button. How fast
 * the page becomes usable is measured by `npm run bench:dashboard`, not asserted here.
 * Screenshots go to test-artifacts/ (and to docs/ with FLOE_UPDATE_DOCS=1, for the README).
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { localApi, startServer, type Server } from "../../sdk/cli/server.ts";
import { extractRows, extractRowsHeld, releaseHeld } from "../support/wide-run.ts";
import { screenshot } from "../support/screenshots.ts";

const executablePath = process.env.FLOE_CHROMIUM ?? "/usr/bin/chromium";
// CI installs Chromium (.ci/run), so there a missing browser fails instead of skipping.
const missing = !existsSync(executablePath) && process.env.CI !== "true";
const artifacts = new URL("../../test-artifacts/", import.meta.url);
const rows = 10_000;
// The page polls every 500 ms, and a loaded machine answers slower: what it waits for may take seconds.
const soon = { timeout: 15_000 };

// Waits for its first argument: started without one, the API refuses it with a 400 (exported: defined for the API to find by name).
export const needsInput = workflow("browser_needs_input", { wait: [0] }, async (input: unknown) => input);
// A step that never ends on its own, for the cancel button of an execution.
const stuck = task("browser_stuck", () => new Promise<never>(() => undefined));
export const waitsOnStuck = workflow("browser_waits_on_stuck", async () => stuck());

// A fan-out whose rows wait on a gate: the group is live while the page polls it.
let openGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (openGate = resolve));
const slowRow = task("browser_slow_row", async (row: number) => {
  await gate;
  return row;
});
export const slowRows = workflow("browser_slow_rows", async (rows: number) => {
  const all = Array.from({ length: rows }, (_, row) => slowRow.submit(row));
  let sum = 0;
  for (const one of all) sum += await one.result();
  return sum;
});

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

describe.skipIf(missing)("the dashboard on a 10,000-execution run", () => {
  let engine: EmbeddedEngine;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let wideRun: string;

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    vi.stubEnv("HOME", await mkdtemp(join(tmpdir(), "floe-browser-home-")));
    engine = createEmbeddedRuntime();
    server = await startServer(localApi(() => engine), { host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const run = engine.submit(extractRows, rows);
    expect(await run.result()).toBe(rows * (rows - 1));
    wideRun = run.id;
  }, 120_000);

  afterAll(async () => {
    releaseHeld();
    openGate();
    await browser?.close();
    await server?.close();
    await engine?.close();
    vi.unstubAllEnvs();
  });

  const shoot = (selector: string, name: string, forDocs = false): Promise<void> => screenshot(page, selector, name, forDocs);

  async function box(selector: string): Promise<Rect> {
    const found = await page.locator(selector).first().boundingBox();
    if (found === null) throw new Error(`${selector} is not shown`);
    return found;
  }

  const group = 'svg.timeline g.group-row[data-task="extract_row"]';

  it("collapses the fan-out into one group row with its counts, and draws only the rows in view", async () => {
    await page.goto(`${server.url}/#/runs/${wideRun}`);
    await page.waitForSelector("body[data-settled=true]");
    await page.waitForSelector(group);
    expect(await page.locator(`${group} text.group-label`).textContent()).toBe("▸ extract_row ×10,000");
    expect(await page.locator(`${group} text.row-status`).first().textContent()).toBe("10,000 completed");
    expect(await page.locator(group).getAttribute("data-expanded")).toBe("false");
    // The root and the group: two rows, not 10,001.
    expect(await page.locator("svg.timeline g.row").count()).toBe(2);
    expect(await page.locator(".run-header .facts").textContent()).toContain("10,001 executions");
    // Suspended has a colour of its own in the legend, beside sleeping's.
    const swatch = (kind: string) => page.locator(`.legend i.segment-${kind}`).evaluate((e): string => (globalThis as any).getComputedStyle(e).backgroundColor);
    expect(await swatch("suspended")).toBe("rgb(95, 179, 197)");
    expect(new Set([await swatch("suspended"), await swatch("sleeping"), await swatch("queued")]).size).toBe(3);
    // The root's details link its first 20 children and count the rest.
    expect(await page.locator("section.execution a[data-link]").count()).toBe(20);
    expect(await page.locator("section.execution .more-links").textContent()).toBe("and 9,980 more");
    await shoot("#timeline", "timeline-wide.png", true);
  });

  it("expands the group on a click, drawing a screenful of its 10,000 rows at a time, and collapses it again", async () => {
    await page.locator(group).click();
    await expect.poll(() => page.locator(group).getAttribute("data-expanded"), soon).toBe("true");
    const scroller = page.locator(".timeline-scroll");
    // The box scrolls through every row, while the page holds only those in view.
    expect(await scroller.evaluate((e) => e.scrollHeight)).toBeGreaterThan(rows * 20);
    const drawn = await page.locator("svg.timeline g.row").count();
    expect(drawn).toBeGreaterThan(10);
    expect(drawn).toBeLessThan(100);
    await scroller.evaluate((e) => (e.scrollTop = e.scrollHeight));
    await expect.poll(() => page.locator('svg.timeline g.row[data-task="extract_row"] text.row-label').last().textContent(), soon).toBe("extract_row(9999)");
    expect(await page.locator("svg.timeline g.row").count()).toBeLessThan(100);
    // The time axis stays above the rows, wherever they are scrolled to.
    const axis = await box(".timeline-axis");
    const scrolled = await box(".timeline-scroll");
    expect(axis.y + axis.height).toBeLessThanOrEqual(scrolled.y + 1);
    expect(await page.locator(".timeline-axis text.tick-label").count()).toBeGreaterThan(2);
    await scroller.evaluate((e) => (e.scrollTop = 0));
    await page.locator(group).click();
    await expect.poll(() => page.locator(group).getAttribute("data-expanded"), soon).toBe("false");
    expect(await page.locator("svg.timeline g.row").count()).toBe(2);
  });

  it("shows a bar's execution beside the timeline, in view, when clicked", async () => {
    await page.locator(group).click();
    const scroller = page.locator(".timeline-scroll");
    await scroller.evaluate((e) => (e.scrollTop = e.scrollHeight / 2));
    // Wait for the redraw of the rows scrolled to, from about the 5,000th on.
    await expect.poll(async () => Number(/\d+/.exec((await page.locator('svg.timeline g.row[data-task="extract_row"] text.row-label').first().textContent()) ?? "")?.[0]), soon).toBeGreaterThan(4000);
    const bar = page.locator('svg.timeline g.row[data-task="extract_row"] rect[data-kind="running"]').nth(12);
    await bar.waitFor();
    // The 13th row drawn: the first eight are drawn above the box's top, out of view.
    const row = page.locator('svg.timeline g.row[data-task="extract_row"]').nth(12);
    const id = await row.getAttribute("data-execution-id");
    const name = await row.locator("text.row-label").textContent();
    await bar.click();
    const details = page.locator("section.execution");
    await expect.poll(() => details.getAttribute("data-execution-id"), soon).toBe(id);
    expect(await details.locator("h2").textContent()).toBe(name);
    const panel = await box("#execution");
    const viewport = page.viewportSize() ?? { width: 0, height: 0 };
    expect(panel.y).toBeGreaterThanOrEqual(0);
    expect(panel.y).toBeLessThan(viewport.height / 2);
    expect(panel.x + panel.width).toBeLessThanOrEqual(viewport.width);
    // Beside the timeline, not under it.
    const timeline = await box("#timeline");
    expect(panel.x).toBeGreaterThanOrEqual(timeline.x + timeline.width);
    expect(await page.locator(`svg.timeline g.row.selected[data-execution-id="${id}"]`).count()).toBe(1);
    await page.mouse.move(0, 0);
    await shoot("main", "run-wide.png", true);
  });

  it("draws the graph with one node for the group, fitted into its panel", async () => {
    // By the runs list: the page of the run is drawn anew, as when opened.
    await page.goto(`${server.url}/#/`);
    await page.waitForSelector("body[data-view=runs]");
    await page.goto(`${server.url}/#/runs/${wideRun}`);
    await page.waitForSelector("svg.graph g.node");
    const nodes = await page.locator("svg.graph g.node").all();
    // The root and one node for the 10,000 (too many to draw one by one, even expanded).
    expect(nodes).toHaveLength(2);
    expect(await page.locator('svg.graph g.group-node[data-task="extract_row"] text.node-label').textContent()).toBe("extract_row ×10,000");
    expect(await page.locator("svg.graph path.edge-child").count()).toBe(1);
    const panel = await box("svg.graph");
    for (const node of nodes) {
      const at = await node.boundingBox();
      expect(at).not.toBeNull();
      expect(at!.x).toBeGreaterThanOrEqual(panel.x - 1);
      expect(at!.y).toBeGreaterThanOrEqual(panel.y - 1);
      expect(at!.x + at!.width).toBeLessThanOrEqual(panel.x + panel.width + 1);
      expect(at!.y + at!.height).toBeLessThanOrEqual(panel.y + panel.height + 1);
    }
    await shoot("#graph", "graph-wide.png", true);
  });

  it("zooms the graph with the buttons and the wheel, pans it by dragging, and fits it again", async () => {
    const viewBox = async (): Promise<number[]> => ((await page.locator("svg.graph").getAttribute("viewBox")) ?? "").split(" ").map(Number);
    await page.locator("svg.graph").scrollIntoViewIfNeeded();
    const fitted = await viewBox();
    await page.locator('.graph-tools button[aria-label="zoom in"]').click();
    const zoomed = await viewBox();
    expect(zoomed[2]).toBeLessThan(fitted[2]!);
    const panel = await box("svg.graph");
    await page.mouse.move(panel.x + panel.width / 2, panel.y + panel.height / 2);
    await page.mouse.wheel(0, 300);
    await expect.poll(async () => (await viewBox())[2], soon).toBeGreaterThan(zoomed[2]!);
    const before = await viewBox();
    await page.mouse.move(panel.x + 40, panel.y + 40);
    await page.mouse.down();
    await page.mouse.move(panel.x + 140, panel.y + 90, { steps: 5 });
    await page.mouse.up();
    const panned = await viewBox();
    expect(panned[0]).toBeLessThan(before[0]!);
    expect(panned[1]).toBeLessThan(before[1]!);
    expect(panned[2]).toBeCloseTo(before[2]!, 3);
    // A drag that ends on a node does not follow its link.
    expect(page.url()).toBe(`${server.url}/#/runs/${wideRun}`);
    await page.locator('.graph-tools button[aria-label="fit the graph to the panel"]').click();
    expect(await viewBox()).toEqual(fitted);
  });

  it("centres the graph on the execution selected", async () => {
    const run = await engine.getRun(wideRun);
    const root = run?.executions.find((e) => e.id === wideRun);
    await page.locator('.graph-tools button[aria-label="zoom in"]').click();
    await page.locator('.graph-tools button[aria-label="zoom in"]').click();
    // Expanded, a group of 10,000 stays one node of the graph: too many to lay out one by one.
    await page.locator('svg.graph g.group-node[data-task="extract_row"]').click();
    await expect.poll(() => page.locator(group).getAttribute("data-expanded"), soon).toBe("true");
    expect(await page.locator("svg.graph g.node").count()).toBe(2);
    await page.locator(`section.execution a[data-link]`).first().click();
    await expect.poll(() => page.locator("section.execution").getAttribute("data-execution-id"), soon).not.toBe(root?.id);
    const graph = await box("svg.graph");
    const node = await box('svg.graph g.group-node[data-task="extract_row"]');
    expect(Math.abs(node.x + node.width / 2 - (graph.x + graph.width / 2))).toBeLessThan(2);
    expect(Math.abs(node.y + node.height / 2 - (graph.y + graph.height / 2))).toBeLessThan(2);
  });

  it("keeps a live group's counts current, and keeps it expanded, across polls", async () => {
    const run = engine.submit(slowRows, 30);
    await expect.poll(async () => (await engine.getRun(run.id))?.executions.filter((e) => e.state === "running").length, soon).toBe(31);
    await page.goto(`${server.url}/#/runs/${run.id}`);
    const live = page.locator('svg.timeline g.group-row[data-task="browser_slow_row"]');
    await expect.poll(() => live.locator("text.row-status").textContent(), soon).toBe("30 running");
    await live.click();
    await expect.poll(() => live.getAttribute("data-expanded"), soon).toBe("true");
    // Two more polls: the group stays open, its rows drawn.
    let polls = 0;
    const count = (response: { url(): string }): void => {
      if (new URL(response.url()).pathname.startsWith("/runs/")) polls += 1;
    };
    page.on("response", count);
    await expect.poll(() => polls, soon).toBeGreaterThanOrEqual(2);
    page.off("response", count);
    expect(await live.getAttribute("data-expanded")).toBe("true");
    expect(await page.locator('svg.timeline g.row[data-execution-id][data-task="browser_slow_row"][data-state="running"]').count()).toBe(30);
    openGate();
    await page.waitForSelector("body[data-settled=true]");
    expect(await live.locator("text.row-status").textContent()).toBe("30 completed");
    expect(await live.getAttribute("data-expanded")).toBe("true");
    expect(await page.locator('svg.timeline g.row[data-execution-id][data-task="browser_slow_row"][data-state="completed"]').count()).toBe(30);
  });

  it("starts a workflow with JSON arguments, refusing bad JSON in the form and showing the API's 400", async () => {
    const posts: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST") posts.push(new URL(request.url()).pathname);
    });
    await page.goto(`${server.url}/#/`);
    const form = page.locator("form.start-form");
    await form.locator("select[name=start-workflow] option", { hasText: "browser_needs_input" }).waitFor({ state: "attached" });
    expect(await form.locator("select[name=start-workflow] option").allTextContents()).toEqual(["browser_needs_input", "browser_slow_rows", "browser_waits_on_stuck", "extract_rows", "extract_rows_held"]);
    await form.locator("select[name=start-workflow]").selectOption("browser_needs_input");
    await form.locator("textarea").fill("[1,");
    await form.locator("button[type=submit]").click();
    await expect.poll(() => form.locator(".form-error").textContent(), soon).toMatch(/^the arguments are not JSON \(.*\): write them as a JSON array, such as \["u1", 2\]$/);
    await form.locator("textarea").fill('{"rows": 3}');
    await form.locator("button[type=submit]").click();
    await expect.poll(() => form.locator(".form-error").textContent(), soon).toBe('the arguments must be a JSON array of the workflow\'s arguments, such as ["u1", 2]; got an object');
    expect(posts).toEqual([]);
    const before = (await engine.listRuns()).length;
    await form.locator("textarea").fill("[]");
    await form.locator("button[type=submit]").click();
    await expect.poll(() => form.locator(".form-error").textContent(), soon).toMatch(/^"browser_needs_input" waits for argument 0, but it was called with 0 argument/);
    expect(posts).toEqual(["/workflows/browser_needs_input/executions"]);
    expect(await engine.listRuns()).toHaveLength(before);
    await form.locator("select[name=start-workflow]").selectOption("extract_rows");
    await form.locator("textarea").fill("[3]");
    await form.locator("button[type=submit]").click();
    await page.waitForSelector("body[data-settled=true]");
    const started = decodeURIComponent(page.url().split("#/runs/")[1] ?? "");
    expect((await engine.getExecution(started))?.taskName).toBe("extract_rows");
    expect(await page.locator('svg.timeline g.row[data-task="extract_row"]').count()).toBe(3);
  });

  it("cancels a running execution and a running run from their buttons", async () => {
    const run = engine.submit(extractRowsHeld, 3);
    await expect.poll(async () => (await engine.getRun(run.id))?.executions.filter((e) => e.state === "completed").length, soon).toBe(3);
    await page.goto(`${server.url}/#/runs/${run.id}`);
    const cancel = page.locator(`.run-header button.cancel[data-cancel="${run.id}"]`);
    await cancel.click();
    await page.waitForSelector("body[data-settled=true]");
    expect((await engine.getExecution(run.id))?.state).toBe("cancelled");
    expect(await page.locator(".run-header .badge").textContent()).toBe("cancelled");
    expect(await page.locator(".run-header button.cancel").count()).toBe(0);

    const waiting = engine.submit(waitsOnStuck);
    await expect.poll(async () => (await engine.getRun(waiting.id))?.executions.find((e) => e.taskName === "browser_stuck")?.state, soon).toBe("running");
    const step = (await engine.getRun(waiting.id))?.executions.find((e) => e.taskName === "browser_stuck");
    await page.goto(`${server.url}/#/runs/${waiting.id}/${step?.id ?? ""}`);
    await page.locator(`#execution button.cancel[data-cancel="${step?.id ?? ""}"]`).click();
    await expect.poll(() => page.locator("section.execution .badge").textContent(), soon).toBe("cancelled");
    expect((await engine.getExecution(step?.id ?? ""))?.state).toBe("cancelled");
    expect(await page.locator("#execution button.cancel").count()).toBe(0);
  });
});
