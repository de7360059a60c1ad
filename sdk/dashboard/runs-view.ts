/** The list of recent runs, filterable by workflow and state. */
import type { RunSummaryJson } from "../http/views.ts";
import { formatMs, h, runLink } from "./dom.ts";

const states = ["waiting", "queued", "running", "suspended", "sleeping", "completed", "failed", "cancelled"];

/** The current filters, kept in the page's address (`#/?workflow=...&state=...`). */
export interface RunFilters {
  readonly workflow?: string;
  readonly state?: string;
  /** Runs a page holds (1 to 100), from the address only. */
  readonly limit?: string;
}

/** What an empty list says: no runs at all, or none that the filters let through. */
function empty(filters: RunFilters): string {
  if (filters.workflow === undefined && filters.state === undefined) {
    return "No runs yet: start one with floe run --api, or POST /workflows/{name}/executions.";
  }
  return `No ${filters.state === undefined ? "" : `${filters.state} `}runs${filters.workflow === undefined ? "" : ` of workflow ${filters.workflow}`}.`;
}

/**
 * Draws the runs list, as the API filtered it.
 * @param workflows - every workflow name seen, for the filter's choices
 * @param onFilter - called with the new filters when one changes
 * @param onMore - reads the next page; absent when there is none
 */
export function runsView(
  runs: readonly RunSummaryJson[],
  workflows: readonly string[],
  filters: RunFilters,
  now: number,
  onFilter: (filters: RunFilters) => void,
  onMore?: () => void,
): HTMLElement {
  const select = (name: string, choices: readonly string[], value: string | undefined, all: string): HTMLSelectElement => {
    const element = h("select", { name, "aria-label": name }, h("option", { value: "" }, all), ...choices.map((c) => h("option", { value: c, selected: c === value }, c)));
    element.addEventListener("change", () => {
      const form = element.form;
      if (form === null) return;
      const read = (field: string): string | undefined => (new FormData(form).get(field) as string | null) || undefined;
      onFilter({ workflow: read("workflow"), state: read("state"), limit: filters.limit });
    });
    return element;
  };
  const rows = runs.map((r) =>
    h(
      "tr",
      { class: `run state-${r.state}`, "data-run-id": r.id },
      h("td", {}, h("a", { href: runLink(r.id) }, r.task)),
      h("td", {}, h("span", { class: `badge state-${r.state}` }, r.state)),
      h("td", {}, new Date(r.createdAt).toLocaleString()),
      h("td", {}, formatMs((r.finishedAt ?? now) - r.createdAt) + (r.finishedAt === undefined ? "…" : "")),
      h("td", {}, h("code", {}, r.id)),
    ),
  );
  return h(
    "section",
    { class: "runs" },
    h("form", { class: "filters", onsubmit: (event: Event) => event.preventDefault() }, select("workflow", workflows, filters.workflow, "all workflows"), select("state", states, filters.state, "all states")),
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", {}, "workflow"), h("th", {}, "state"), h("th", {}, "started"), h("th", {}, "duration"), h("th", {}, "run"))),
      h("tbody", {}, ...rows),
    ),
    runs.length === 0 ? h("p", { class: "empty" }, empty(filters)) : "",
    onMore === undefined ? "" : h("button", { type: "button", class: "more", onclick: onMore }, "more runs"),
  );
}
