/**
 * The dashboard: a single page over the HTTP API (`GET /runs`, `GET /runs/{id}`), routed by
 * the address's hash so any static server or `floe dev` can serve it. It polls while
 * something is running. `?api=<url>` points it at another API (which must allow CORS;
 * `floe dashboard --api <url>` forwards instead). Its requests carry the secret of the floe
 * server that served the page (a `<meta name="floe-secret">`), which refuses calls without it.
 */
import type { ExecutionJson, RunJson, RunListJson } from "../http/views.ts";
import type { ExecutionLogsJson } from "../logs/log-json.ts";
import { formatMs, h, runLink } from "./dom.ts";
import { executionView } from "./execution-view.ts";
import { graphView } from "./graph-view.ts";
import { settled, span } from "./model.ts";
import { runsView, type RunFilters } from "./runs-view.ts";
import { timelineView } from "./timeline-view.ts";

const apiBase = (new URLSearchParams(location.search).get("api") ?? "").replace(/\/+$/, "");
// The secret of the floe server that served this page: sent back to it only, never to ?api=.
const secret = apiBase === "" ? document.querySelector<HTMLMetaElement>('meta[name="floe-secret"]')?.content : undefined;
const headers: Record<string, string> = { accept: "application/json", ...(secret === undefined ? {} : { "x-floe-secret": secret }) };
const runPollMs = 500;
const listPollMs = 2000;

const app = document.getElementById("app") as HTMLElement;
const crumbs = document.getElementById("crumbs") as HTMLElement;
const live = document.getElementById("live") as HTMLElement;

/** Bumped on each navigation, so a poll of the page left behind stops. */
let generation = 0;
const workflowsSeen = new Set<string>();

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${apiBase}${path}`, { headers });
  const body = (await response.json()) as T & { error?: { message: string } };
  if (!response.ok) throw new Error(body.error?.message ?? `${path} answered ${response.status}`);
  return body;
}

function showError(error: unknown): void {
  app.replaceChildren(h("p", { class: "failure" }, `Cannot load this page: ${(error as Error).message}`));
  live.hidden = true;
}

function poll(mine: number, ms: number, step: () => Promise<boolean>): void {
  const tick = async (): Promise<void> => {
    if (mine !== generation) return;
    let again = false;
    try {
      again = await step();
    } catch (error) {
      if (mine === generation) showError(error);
      return;
    }
    live.hidden = !again;
    if (again && mine === generation) setTimeout(() => void tick(), ms);
  };
  void tick();
}

function parseFilters(query: string): RunFilters {
  const params = new URLSearchParams(query);
  return { workflow: params.get("workflow") || undefined, state: params.get("state") || undefined, limit: params.get("limit") || undefined };
}

/** How many pages of runs the list shows: one, and one more for each "more runs". */
let listPages = 1;

/** The first `pages` pages of runs as the API filters them, and the cursor of the page after. */
async function readRuns(filters: RunFilters, pages: number): Promise<{ runs: RunListJson["runs"][number][]; cursor?: string }> {
  const params = new URLSearchParams({ limit: filters.limit ?? "100" });
  if (filters.workflow !== undefined) params.set("workflow", filters.workflow);
  if (filters.state !== undefined) params.set("state", filters.state);
  const runs: RunListJson["runs"][number][] = [];
  let cursor: string | undefined;
  for (let page = 0; page < pages; page += 1) {
    if (cursor !== undefined) params.set("cursor", cursor);
    const list = await get<RunListJson>(`/runs?${params.toString()}`);
    runs.push(...list.runs);
    cursor = list.cursor;
    if (cursor === undefined) break;
  }
  return { runs, ...(cursor === undefined ? {} : { cursor }) };
}

function showRuns(mine: number, filters: RunFilters): void {
  crumbs.replaceChildren(h("span", {}, "runs"));
  document.title = "floe · runs";
  poll(mine, listPollMs, async () => {
    const { runs, cursor } = await readRuns(filters, listPages);
    if (mine !== generation) return false;
    for (const r of runs) workflowsSeen.add(r.task);
    const more = (): void => {
      listPages += 1;
      generation += 1;
      showRuns(generation, filters);
    };
    app.replaceChildren(
      runsView(runs, [...workflowsSeen].sort(), filters, Date.now(), (next) => {
        const query = new URLSearchParams();
        if (next.workflow !== undefined) query.set("workflow", next.workflow);
        if (next.state !== undefined) query.set("state", next.state);
        if (next.limit !== undefined) query.set("limit", next.limit);
        location.hash = `#/?${query.toString()}`;
      }, cursor === undefined ? undefined : more),
    );
    document.body.dataset.view = "runs";
    // The list keeps polling: new runs appear while the page is open.
    return true;
  });
}

function runHeader(run: RunJson, root: ExecutionJson | undefined, now: number): HTMLElement {
  const { start, end } = span(run, now);
  const failed = run.executions.filter((e) => e.state === "failed").length;
  return h(
    "section",
    { class: "run-header" },
    h("h1", {}, root?.task ?? run.id, " ", h("span", { class: `badge state-${root?.state ?? "unknown"}` }, root?.state ?? "unknown")),
    h(
      "p",
      { class: "facts" },
      `run ${run.id} · started ${new Date(start).toLocaleString()} · ${settled(run) ? "took" : "running for"} ${formatMs(end - start)} · ` +
        `${run.executions.length} executions${failed > 0 ? ` · ${failed} failed` : ""}`,
    ),
  );
}

function legend(): HTMLElement {
  const item = (cls: string, text: string): HTMLElement => h("span", { class: "legend-item" }, h("i", { class: cls }), text);
  return h(
    "p",
    { class: "legend" },
    item("segment-waiting", "waiting for upstreams"),
    item("segment-queued", "queued"),
    item("segment-sleeping", "sleeping"),
    item("segment-folded", "re-runs folded (×count)"),
    item("outcome-running", "running"),
    item("outcome-completed", "completed"),
    item("outcome-retried", "failed, retried"),
    item("outcome-failed", "failed"),
    item("outcome-cancelled", "cancelled"),
    item("edge-dependency", "dependency"),
    item("edge-child", "parent–child"),
  );
}

const loadLogs = (id: string): Promise<ExecutionLogsJson> => get<ExecutionLogsJson>(`/executions/${encodeURIComponent(id)}/logs`);

function showRun(mine: number, runId: string, executionId: string | undefined): void {
  document.title = "floe · run";
  poll(mine, runPollMs, async () => {
    const run = await get<RunJson>(`/runs/${encodeURIComponent(runId)}`);
    if (mine !== generation) return false;
    const now = Date.now();
    const root = run.executions.find((e) => e.id === run.id);
    const selected = run.executions.find((e) => e.id === executionId) ?? root;
    crumbs.replaceChildren(h("a", { href: "#/" }, "runs"), " / ", h("a", { href: runLink(run.id) }, root?.task ?? run.id), selected !== undefined && selected !== root ? ` / ${selected.task}` : "");
    const width = Math.max(app.clientWidth, 640);
    app.replaceChildren(
      runHeader(run, root, now),
      legend(),
      h("section", { class: "panel", id: "timeline" }, h("h2", {}, "Timeline"), timelineView(run, width - 70, now, selected?.id)),
      h("div", { class: "columns" },
        h("section", { class: "panel", id: "graph" }, h("h2", {}, "Graph"), h("div", { class: "scroll" }, graphView(run, selected?.id))),
        selected === undefined ? "" : h("div", { class: "panel", id: "execution" }, executionView(run, selected, now, loadLogs)),
      ),
    );
    const done = settled(run);
    document.body.dataset.view = "run";
    document.body.dataset.settled = String(done);
    return !done;
  });
}

function route(): void {
  generation += 1;
  listPages = 1;
  const mine = generation;
  delete document.body.dataset.settled;
  delete document.body.dataset.view;
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path = "/", query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "runs" && parts[1] !== undefined) showRun(mine, parts[1], parts[2]);
  else showRuns(mine, parseFilters(query));
}

window.addEventListener("hashchange", route);
route();
