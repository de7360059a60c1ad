/**
 * The dashboard's cost on a wide run, in Chromium (Debian's, driven by playwright-core): a
 * workflow fans out N small tasks on the embedded engine, then stays running, so the page
 * keeps polling it. For N = 500 and N = 10,000 it prints the time from navigation until the
 * timeline's first rows show, the JS heap used once drawn, and the main thread's busy time
 * (Chrome DevTools Protocol `Performance.getMetrics`, `TaskDuration`) over 10 s of live
 * polling, with the polls made and the bytes one costs.
 *
 * Run: `npm run bench:dashboard` (`FLOE_CHROMIUM` names another Chromium).
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { createEmbeddedRuntime } from "../sdk/embedded/embedded-engine.ts";
import { localApi, startServer } from "../sdk/cli/server.ts";
import { extractRowsHeld, releaseHeld } from "../test/support/wide-run.ts";

const executablePath = process.env.FLOE_CHROMIUM ?? "/usr/bin/chromium";
const liveMs = 10_000;

interface Figures {
  readonly executions: number;
  readonly firstRowsMs: number;
  /** When the run's first `GET /runs/{id}` had been read: the API's part of the first rows' time. */
  readonly answeredMs: number;
  readonly heapMb: number;
  readonly busyMs: number;
  readonly scriptMs: number;
  readonly polls: number;
  readonly pollBytes: number;
}

function metric(metrics: { name: string; value: number }[], name: string): number {
  return metrics.find((m) => m.name === name)?.value ?? Number.NaN;
}

async function measure(browser: Browser, rows: number): Promise<Figures> {
  const engine = createEmbeddedRuntime();
  const server = await startServer(localApi(() => engine), { host: "127.0.0.1", port: 0 });
  try {
    const run = engine.submit(extractRowsHeld, rows);
    // Every row done, the root still running: the page polls a run of rows + 1 executions.
    for (;;) {
      const done = (await engine.getRun(run.id))?.executions.filter((e) => e.state === "completed").length ?? 0;
      if (done === rows) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The server bundles the page's script on its first request: not the page's time.
    await fetch(`${server.url}/dashboard/app.js`);
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(`${server.url}/#/runs/${encodeURIComponent(run.id)}`);
    // Read in the page, in the frame the rows appear: milliseconds since the navigation began.
    const shown = await page.waitForFunction(() => {
      const doc = (globalThis as any).document;
      if (doc.querySelector("svg.timeline g.row") === null) return false;
      const perf = (globalThis as any).performance;
      const answer = perf.getEntriesByType("resource").find((r: { name: string }) => new URL(r.name).pathname.startsWith("/runs/"));
      return { at: perf.now(), answered: answer?.responseEnd ?? Number.NaN };
    }, undefined, { polling: "raf", timeout: 120_000 });
    const { at: firstRowsMs, answered: answeredMs } = (await shown.jsonValue()) as { at: number; answered: number };
    await cdp.send("HeapProfiler.collectGarbage");
    const drawn = (await cdp.send("Performance.getMetrics")).metrics;
    const sizes: Promise<number>[] = [];
    page.on("requestfinished", (request) => {
      if (new URL(request.url()).pathname.startsWith("/runs/")) sizes.push(request.sizes().then((s) => s.responseBodySize));
    });
    await new Promise((resolve) => setTimeout(resolve, liveMs));
    const after = (await cdp.send("Performance.getMetrics")).metrics;
    const bytes = await Promise.all(sizes);
    if ((await page.locator("body").getAttribute("data-settled")) !== "false") throw new Error("the run settled during the live measure");
    await context.close();
    return {
      executions: rows + 1,
      firstRowsMs,
      answeredMs,
      heapMb: metric(drawn, "JSHeapUsedSize") / 2 ** 20,
      busyMs: (metric(after, "TaskDuration") - metric(drawn, "TaskDuration")) * 1000,
      scriptMs: (metric(after, "ScriptDuration") - metric(drawn, "ScriptDuration")) * 1000,
      polls: bytes.length,
      pollBytes: bytes.length === 0 ? 0 : bytes.reduce((a, b) => a + b, 0) / bytes.length,
    };
  } finally {
    releaseHeld();
    await server.close();
    await engine.close();
  }
}

// The server keeps its secret under the home folder: the bench's own.
process.env.HOME = await mkdtemp(join(tmpdir(), "floe-bench-home-"));
const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
try {
  console.log(`executions  first rows (API answered)  JS heap   main thread busy in ${liveMs / 1000} s live (script)  polls  bytes a poll`);
  for (const rows of [500, 10_000]) {
    const f = await measure(browser, rows);
    console.log(
      `${String(f.executions).padStart(10)}  ${`${f.firstRowsMs.toFixed(0)} ms (${f.answeredMs.toFixed(0)} ms)`.padStart(23)}  ${`${f.heapMb.toFixed(1)} MB`.padStart(7)}   ` +
        `${`${f.busyMs.toFixed(0)} ms (${f.scriptMs.toFixed(0)} ms)`.padStart(38)}  ${String(f.polls).padStart(5)}  ${f.pollBytes.toFixed(0).padStart(12)}`,
    );
  }
} finally {
  await browser.close();
}
