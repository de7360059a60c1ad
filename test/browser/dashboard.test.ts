/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core): the
 * timeline and graph of the demo's process_order, the execution view, the runs list's
 * filters and live updates. Screenshots go to test-artifacts/ (the timeline and
 * the graph also to docs/ with FLOE_UPDATE_DOCS=1, for the README).
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { sleep, task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { processOrder } from "../../examples/process-order.ts";
import { declined } from "../cli/fixtures/workflows.ts";
import { localApi, startServer, type Server } from "../../sdk/cli/server.ts";
import { screenshot } from "../support/screenshots.ts";

const executablePath = process.env.FLOE_CHROMIUM ?? "/usr/bin/chromium";
// CI installs Chromium (.ci/run), so there a missing browser fails instead of skipping.
const missing = !existsSync(executablePath) && process.env.CI !== "true";
const artifacts = new URL("../../test-artifacts/", import.meta.url);

let release: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (release = resolve));
const gatedStep = task("gated_step", async () => {
  await gate;
  return "released";
});
const gated = workflow("gated", async () => gatedStep());
const held = workflow("browser_held", () => new Promise<never>(() => undefined));
const napper = workflow("browser_napper", async () => {
  await sleep(3_600_000);
  return "rested";
});
// Fails its first 15 attempts: its history, 2 transitions a retry, is compacted on the way.
let flakes = 0;
const flaky = task("browser_flaky", { retries: { limit: 20, delayMs: 1, backoff: "fixed" } }, async () => {
  flakes += 1;
  if (flakes <= 15) throw new Error(`flake ${flakes}`);
  return flakes;
});

// Times out, then fails with a gateway's error, then succeeds: the attempts table says why.
let gatewayCalls = 0;
const gateway = task("browser_gateway", { retries: { limit: 2, delayMs: 1, backoff: "fixed" } }, async () => {
  gatewayCalls += 1;
  if (gatewayCalls === 1) throw Object.assign(new Error('"browser_gateway" ran past its timeoutMs of 30000 ms'), { name: "TimeoutError", code: "FLOE_TIMEOUT" });
  if (gatewayCalls === 2) throw new Error("503 from gateway");
  return "ok";
});

// Fails until the test lets it succeed: a run to re-run from the page.
let fixed = false;
const fragile = task("browser_fragile", async (n: number) => {
  if (!fixed) throw new Error(`the service was down for ${n}`);
  return n * 2;
});
const steady = task("browser_steady", async (n: number) => n + 1);
const mended = workflow("browser_mended", async (n: number) => (await steady(n)) + (await fragile(n)));

interface Box {
  readonly x: number;
  readonly width: number;
}

describe.skipIf(missing)("the dashboard", () => {
  let engine: EmbeddedEngine;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let orderRun: string;

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    // The server writes its secret under the home folder: one of the test's own.
    vi.stubEnv("HOME", await mkdtemp(join(tmpdir(), "floe-browser-home-")));
    engine = createEmbeddedRuntime();
    server = await startServer(localApi(() => engine), { host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const order = engine.submit(processOrder, "u1", "p1");
    await order.result();
    orderRun = order.id;
    await settle(engine, orderRun);
  }, 60_000);

  afterAll(async () => {
    release();
    await browser?.close();
    await server?.close();
    await engine?.close();
    vi.unstubAllEnvs();
  });

  const shoot = (selector: string, name: string, forDocs = false): Promise<void> => screenshot(page, selector, name, forDocs);

  async function runningBar(task: string): Promise<Box> {
    const box = await page.locator(`svg.timeline g.row[data-task="${task}"] rect[data-kind="running"]`).first().boundingBox();
    if (box === null) throw new Error(`no running bar for ${task}`);
    return box;
  }

  it("draws process_order's timeline with the two loads overlapping and create_order after them", async () => {
    await page.goto(`${server.url}/#/runs/${orderRun}`);
    await page.waitForSelector("body[data-settled=true]");

    const user = await runningBar("load_user");
    const product = await runningBar("load_product");
    const order = await runningBar("create_order");
    const overlap = Math.min(user.x + user.width, product.x + product.width) - Math.max(user.x, product.x);
    expect(overlap).toBeGreaterThan(0.8 * Math.min(user.width, product.width));
    expect(order.x).toBeGreaterThanOrEqual(Math.max(user.x + user.width, product.x + product.width) - 1);
    // create_order existed while the loads ran: its waiting time is drawn before its bar.
    const waiting = await page.locator('svg.timeline g.row[data-task="create_order"] rect[data-kind="waiting"]').first().boundingBox();
    expect(waiting?.x ?? Infinity).toBeLessThan(user.x + user.width);
    await shoot("#timeline", "timeline.png", true);
    await page.screenshot({ path: new URL("run.png", artifacts).pathname, fullPage: true });
  });

  it("draws process_order's graph: two solid dependency edges, three dashed parent–child edges", async () => {
    const taskOf = new Map<string, string>();
    for (const node of await page.locator("svg.graph g.node").all()) {
      taskOf.set((await node.getAttribute("data-execution-id")) ?? "", (await node.getAttribute("data-task")) ?? "");
    }
    const edges = async (kind: string): Promise<string[]> => {
      const out: string[] = [];
      for (const edge of await page.locator(`svg.graph path.edge-${kind}`).all()) {
        out.push(`${taskOf.get((await edge.getAttribute("data-from")) ?? "")} -> ${taskOf.get((await edge.getAttribute("data-to")) ?? "")}`);
        expect(await edge.getAttribute("d")).toMatch(/^M [\d.]+ [\d.]+ L/);
      }
      return out.sort();
    };
    expect(await edges("dependency")).toEqual(["load_product -> create_order", "load_user -> create_order"]);
    expect(await edges("child")).toEqual(["process_order -> create_order", "process_order -> load_product", "process_order -> load_user"]);
    const dash = (kind: string) => page.locator(`svg.graph path.edge-${kind}`).first().evaluate((e): string => (globalThis as any).getComputedStyle(e).strokeDasharray);
    expect(await dash("dependency")).toBe("none");
    expect(await dash("child")).not.toBe("none");
    await shoot("#graph", "graph.png", true);
  });

  it("shows an execution's arguments, result, attempts and links to its upstreams and parent", async () => {
    await page.locator('svg.graph g.node[data-task="create_order"]').click();
    const panel = page.locator("section.execution");
    await expect.poll(() => panel.locator("h2").textContent()).toBe("create_order(…)");
    const links = await panel.locator("a[data-link]").allTextContents();
    expect(links).toEqual(expect.arrayContaining(['process_order("u1", "p1")', 'load_user("u1")', 'load_product("p1")']));
    expect(await panel.locator("pre.json").last().textContent()).toContain('"totalCents": 4999');
    expect(await panel.locator("table.attempts tbody tr").count()).toBe(1);
    await panel.locator('a:has-text("load_user")').first().click();
    await expect.poll(() => panel.locator("h2").textContent()).toBe('load_user("u1")');
    await shoot("#execution", "execution.png");
  });

  it("shows a failed execution's error with its stack", async () => {
    const run = engine.submit(declined, 5);
    await run.result({ raiseOnFailure: false });
    await settle(engine, run.id);
    const charge = (await engine.getRun(run.id))?.executions.find((e) => e.taskName === "charge");
    await page.goto(`${server.url}/#/runs/${run.id}/${charge?.id ?? ""}`);
    await page.waitForSelector("body[data-settled=true]");
    expect(await page.locator("section.execution p.error").textContent()).toBe("NonRetriableError [FLOE_NON_RETRIABLE]: card declined for 5 cents");
    expect(await page.locator("section.execution pre.stack").textContent()).toMatch(/at .*workflows\.ts/);
    expect(await page.locator('svg.timeline g.row[data-task="charge"] rect.outcome-failed').count()).toBe(1);
  });

  it("lists runs, filtered by workflow and by state", async () => {
    await page.goto(`${server.url}/#/`);
    await page.waitForSelector("section.runs tr.run");
    const workflows = () => page.locator("section.runs tr.run td:first-child").allTextContents();
    await expect.poll(workflows).toEqual(expect.arrayContaining(["process_order", "declined"]));
    await page.selectOption("select[name=state]", "failed");
    await expect.poll(workflows).toEqual(["declined"]);
    await page.selectOption("select[name=state]", "");
    await page.selectOption("select[name=workflow]", "process_order");
    await expect.poll(workflows).toEqual(["process_order"]);
    expect(page.url()).toContain("workflow=process_order");
    await page.selectOption("select[name=workflow]", "");
    await expect.poll(workflows).toHaveLength(2);
    await shoot("section.runs", "runs.png");
  });

  it("re-runs a failed run from its header, and follows it to completion, reusing what completed", async () => {
    const run = engine.submit(mended, 4);
    await run.result({ raiseOnFailure: false });
    await settle(engine, run.id);
    await page.goto(`${server.url}/#/runs/${run.id}`);
    await page.waitForSelector("body[data-settled=true]");
    expect(await page.locator("section.run-header h1 .badge").textContent()).toBe("failed");
    fixed = true;
    await page.locator(`button.rerun[data-rerun="${run.id}"]`).click();
    await expect.poll(() => page.locator("section.run-header h1 .badge").textContent(), { timeout: 10_000 }).toBe("completed");
    expect(await run.result()).toBe(13);
    expect(await page.locator("button.rerun").count()).toBe(0);
    const steps = (await engine.getRun(run.id))?.executions.filter((e) => e.taskName === "browser_steady");
    expect(steps?.map((e) => e.attempt)).toEqual([1]);
  });

  it("pages the runs list with its more button, and says when the filters match no run", async () => {
    await page.goto(`${server.url}/#/?limit=1`);
    await page.waitForSelector("section.runs tr.run");
    const rows = () => page.locator("section.runs tr.run").count();
    expect(await rows()).toBe(1);
    await page.locator("section.runs button.more").click();
    await expect.poll(rows).toBe(2);
    await page.goto(`${server.url}/#/?workflow=declined&state=cancelled`);
    await expect.poll(() => page.locator("section.runs p.empty").textContent()).toBe("No cancelled runs of workflow declined.");
    expect(await rows()).toBe(0);
  });

  it("shows why each failed attempt failed, with its stack, in the execution's attempts", async () => {
    const run = engine.submit(gateway);
    expect(await run.result()).toBe("ok");
    await page.goto(`${server.url}/#/runs/${run.id}`);
    await page.waitForSelector("body[data-settled=true]");
    const row = (attempt: number) => page.locator(`section.execution table.attempts tr[data-attempt="${attempt}"]`);
    expect(await row(1).locator("td.attempt-error").textContent()).toMatch(/^TimeoutError \[FLOE_TIMEOUT\]: "browser_gateway" ran past its timeoutMs of 30000 ms(stack)?/);
    expect(await row(1).locator("td").nth(3).textContent()).toBe("retried");
    expect(await row(2).locator("td.attempt-error").textContent()).toMatch(/^Error: 503 from gateway/);
    await row(2).locator("summary").click();
    expect(await row(2).locator("pre.attempt-stack").textContent()).toMatch(/^Error: 503 from gateway\n\s+at .*dashboard\.test\.ts/);
    expect(await row(3).locator("td").nth(3).textContent()).toBe("completed");
    expect(await row(3).locator("td").nth(4).textContent()).toBe("");
    await shoot("#execution", "execution-attempts.png");
  });

  it("sends the server's secret with its requests, and starts and cancels with it", async () => {
    const sent: (string | undefined)[] = [];
    const record = (request: { url(): string; headers(): Record<string, string> }): void => {
      if (new URL(request.url()).pathname === "/runs") sent.push(request.headers()["x-floe-secret"]);
    };
    page.on("request", record);
    await page.goto(`${server.url}/#/`);
    await page.waitForSelector("section.runs tr.run");
    page.off("request", record);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([server.secret]));
    // The same-origin calls a page of the server makes: with its secret they work, without they are refused.
    const statuses = await page.evaluate(async () => {
      const doc = (globalThis as any).document;
      const secret = String(doc.querySelector('meta[name="floe-secret"]').content);
      const call = async (path: string, withSecret: boolean): Promise<{ status: number; body: any }> => {
        const headers: Record<string, string> = { "content-type": "application/json", ...(withSecret ? { "x-floe-secret": secret } : {}) };
        const response = await fetch(path, { method: "POST", headers, body: '{"args":[]}' });
        return { status: response.status, body: await response.json() };
      };
      const refused = await call("/workflows/browser_held/executions", false);
      const started = await call("/workflows/browser_held/executions", true);
      const cancelled = await call(`/executions/${encodeURIComponent(started.body.id)}/cancel`, true);
      return { refused: refused.status, started: started.status, cancelled: cancelled.status, state: cancelled.body.state };
    });
    expect(statuses).toEqual({ refused: 403, started: 202, cancelled: 202, state: "cancelled" });
    expect((await engine.listRuns({ taskName: "browser_held" })).map((r) => r.state)).toEqual(["cancelled"]);
  });

  it("refuses a page of another origin that posts to it, changing nothing (T26)", async () => {
    const foreign: HttpServer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>elsewhere</title><p>elsewhere</p>");
    });
    await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", resolve));
    const elsewhere = await browser.newPage();
    try {
      const running = engine.submit(held);
      await running.created;
      const before = (await engine.listRuns()).length;
      await elsewhere.goto(`http://127.0.0.1:${(foreign.address() as { port: number }).port}/`);
      const answered = Promise.all([
        elsewhere.waitForResponse((r) => r.url().endsWith("/cancel")),
        elsewhere.waitForResponse((r) => r.url().endsWith("/executions") && r.request().method() === "POST"),
      ]);
      // What a hostile page can send without a preflight: text/plain POSTs, answers unreadable.
      await elsewhere.evaluate(
        async ({ target, id }: { target: string; id: string }) => {
          const send = (path: string, body: string) => fetch(`${target}${path}`, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body });
          await send(`/executions/${id}/cancel`, "{}").catch(() => undefined);
          await send("/workflows/browser_held/executions", '{"args":[]}').catch(() => undefined);
        },
        { target: server.url, id: running.id },
      );
      expect((await answered).map((r) => r.status())).toEqual([403, 403]);
      expect((await engine.getExecution(running.id))?.state).toBe("running");
      expect(await engine.listRuns()).toHaveLength(before);
    } finally {
      await elsewhere.close();
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

  it("updates a run's view live while it runs, each poll after the first asking only what changed", async () => {
    const run = engine.submit(gated);
    const polls: string[] = [];
    const seen = (request: { url(): string }) => {
      const url = new URL(request.url());
      if (url.pathname === `/runs/${run.id}`) polls.push(url.search);
    };
    page.on("request", seen);
    await page.goto(`${server.url}/#/runs/${run.id}`);
    const step = page.locator('svg.timeline g.row[data-task="gated_step"]');
    await expect.poll(() => step.getAttribute("data-state")).toBe("running");
    expect(await page.locator("body").getAttribute("data-settled")).toBe("false");
    expect(await page.locator("#live").isVisible()).toBe(true);
    release();
    await expect.poll(() => step.getAttribute("data-state")).toBe("completed");
    await page.waitForSelector("body[data-settled=true]");
    expect(await step.locator("rect.outcome-completed").count()).toBe(1);
    page.off("request", seen);
    expect(polls[0]).toBe("");
    expect(polls.length).toBeGreaterThan(1);
    expect(polls.slice(1).every((search) => search.startsWith("?since="))).toBe(true);
  });

  it("draws a sleeping execution in the sleeping colour, named in the legend, with its wake time", async () => {
    const run = engine.submit(napper);
    await expect.poll(async () => (await engine.getExecution(run.id))?.state).toBe("sleeping");
    const wakeAt = (await engine.getExecution(run.id))?.notBefore;
    await page.goto(`${server.url}/#/runs/${run.id}`);
    const asleep = page.locator('svg.timeline g.row[data-task="browser_napper"] rect[data-kind="sleeping"]');
    await asleep.waitFor();
    const fill = (locator: typeof asleep) => locator.evaluate((e): string => (globalThis as any).getComputedStyle(e).fill);
    expect(await fill(asleep)).toBe("rgb(167, 139, 250)");
    expect(await page.locator(".legend .legend-item", { has: page.locator("i.segment-sleeping") }).textContent()).toBe("sleeping");
    expect(await page.locator("section.execution .badge.state-sleeping").textContent()).toBe("sleeping");
    const facts = await page.locator("section.execution dl").innerText();
    expect(facts).toContain(new Date(wakeAt!).toISOString());
    // The API's why, the same sentence floe inspect prints.
    expect(await page.locator("section.execution .why").innerText()).toBe(`sleeping until ${new Date(wakeAt!).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")}`);
    await shoot("#timeline", "timeline-sleeping.png");
  });

  it("draws the folded stretch of a compacted history as one segment labelled with its count", async () => {
    const run = engine.submit(flaky);
    expect(await run.result()).toBe(16);
    const folded = (await engine.getExecution(run.id))?.history.find((t) => t.folded !== undefined)?.folded;
    expect(folded).toBeGreaterThan(1);
    await page.goto(`${server.url}/#/runs/${run.id}`);
    await page.waitForSelector("body[data-settled=true]");
    const row = page.locator('svg.timeline g.row[data-task="browser_flaky"]');
    expect(await row.locator('rect[data-kind="folded"]').count()).toBe(1);
    expect(await row.locator("rect.outcome-completed").count()).toBe(1);
    expect(await row.locator("text.segment-count").textContent()).toBe(`×${folded}`);
    // The latest five failures are kept, and the earlier ones counted.
    expect(await page.locator("section.execution table.attempts td.attempt-error").allTextContents()).toEqual(
      [11, 12, 13, 14, 15].map((n) => expect.stringMatching(new RegExp(`^Error: flake ${n}`))),
    );
    expect(await page.locator("section.execution p.earlier-failures").textContent()).toBe("10 earlier failed attempts not kept.");
    await shoot("#timeline", "timeline-folded.png");
  });
});

/** Waits until every execution of the run has finished. */
async function settle(engine: EmbeddedEngine, runId: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const run = await engine.getRun(runId);
    if (run?.executions.every((e) => ["completed", "failed", "cancelled"].includes(e.state)) === true) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`run ${runId} did not finish in 10 s`);
}
