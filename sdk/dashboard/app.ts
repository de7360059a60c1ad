/**
 * The dashboard: a single page over the HTTP API (`GET /runs`, `GET /runs/{id}`), routed by
 * the address's hash so any static server or `floe dev` can serve it. It polls while
 * something is running, and starts workflows and cancels executions. `?api=<url>` points it at another API (which must allow CORS;
 * `floe dashboard --api <url>` forwards instead). Its requests carry the secret of the floe
 * server that served the page (a `<meta name="floe-secret">`), which refuses calls without it.
 */
import { mergeRun } from "../http/merge-run.ts";
import type { RunJson, RunListJson } from "../http/views.ts";
import { h, runLink } from "./dom.ts";
import { settled } from "./model.ts";
import { RunPage } from "./run-view.ts";
import type { ExecutionLogsJson } from "../logs/log-json.ts";
import { runsView, type RunFilters } from "./runs-view.ts";
import { startForm } from "./start-form.ts";

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

/** A POST with a JSON body; rejects with the API's message (a 400 says what was wrong). */
async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${apiBase}${path}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
  const answer = (await response.json()) as T & { error?: { message: string } };
  if (!response.ok) throw new Error(answer.error?.message ?? `${path} answered ${response.status}`);
  return answer;
}

/** The registered workflows, for the start form; an API without `GET /workflows` gives the ones seen in the list. */
async function workflowNames(): Promise<string[]> {
  try {
    return (await get<{ workflows: { name: string }[] }>("/workflows")).workflows.map((w) => w.name);
  } catch {
    return [...workflowsSeen].sort();
  }
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
  // The list is redrawn by each poll; the form is not, so what is typed in it stays.
  const list = h("div", { class: "runs-list" });
  const formBox = h("div", { class: "start" });
  let drawn = false;
  void workflowNames().then((names) => {
    if (mine !== generation) return;
    formBox.replaceChildren(startForm(names, async (workflow, args) => (await post<{ id: string }>(`/workflows/${encodeURIComponent(workflow)}/executions`, { args })).id, (id) => (location.hash = runLink(id))));
  });
  poll(mine, listPollMs, async () => {
    const { runs, cursor } = await readRuns(filters, listPages);
    if (mine !== generation) return false;
    for (const r of runs) workflowsSeen.add(r.task);
    const more = (): void => {
      listPages += 1;
      generation += 1;
      showRuns(generation, filters);
    };
    if (!drawn) app.replaceChildren(formBox, list);
    drawn = true;
    list.replaceChildren(
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

/** The run page shown, kept while the address names its run: choosing an execution fetches nothing. */
let shown: { runId: string; page: RunPage } | undefined;

function showCrumbs(page: RunPage): void {
  const run = page.run;
  if (run === undefined) return;
  const root = run.executions.find((e) => e.id === run.id);
  const selected = page.selected;
  crumbs.replaceChildren(h("a", { href: "#/" }, "runs"), " / ", h("a", { href: runLink(run.id) }, root?.task ?? run.id), selected !== undefined && selected !== root ? ` / ${selected.task}` : "");
}

const loadLogs = (id: string): Promise<ExecutionLogsJson> => get<ExecutionLogsJson>(`/executions/${encodeURIComponent(id)}/logs`);

function showRun(mine: number, runId: string, executionId: string | undefined): void {
  document.title = "floe · run";
  const page = new RunPage(
    {
      cancel: async (id) => void (await post(`/executions/${encodeURIComponent(id)}/cancel`, {})),
      rerun: async (id) => {
        await post(`/executions/${encodeURIComponent(id)}/rerun`, {});
        // The run was settled, so its poll had stopped: a new page polls it from a full read.
        if (mine === generation) {
          shown = undefined;
          route();
        }
      },
      logs: loadLogs,
    },
    executionId,
  );
  shown = { runId, page };
  let drawn = false;
  // The view held: each poll after the first asks only what changed since it (`?since=`).
  let held: RunJson | undefined;
  poll(mine, runPollMs, async () => {
    const path = `/runs/${encodeURIComponent(runId)}`;
    const since = held?.cursor;
    const answer = await get<RunJson>(since === undefined ? path : `${path}?since=${encodeURIComponent(since)}`);
    if (mine !== generation) return false;
    const run = held === undefined ? answer : mergeRun(held, answer);
    held = run;
    if (!drawn) app.replaceChildren(page.element);
    drawn = true;
    page.update(run);
    showCrumbs(page);
    const done = settled(run);
    document.body.dataset.view = "run";
    document.body.dataset.settled = String(done);
    return !done;
  });
}

function route(): void {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path = "/", query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "runs" && parts[1] !== undefined && shown?.runId === parts[1]) {
    shown.page.select(parts[2]);
    showCrumbs(shown.page);
    return;
  }
  shown = undefined;
  generation += 1;
  listPages = 1;
  const mine = generation;
  delete document.body.dataset.settled;
  delete document.body.dataset.view;
  if (parts[0] === "runs" && parts[1] !== undefined) showRun(mine, parts[1], parts[2]);
  else showRuns(mine, parseFilters(query));
}

window.addEventListener("hashchange", route);
route();
