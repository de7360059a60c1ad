/**
 * The page of one run: its header with a cancel button (a re-run button once the run failed
 * or was cancelled), the legend, the timeline and the
 * graph, and beside them the selected execution's details. It lives as long as the run is
 * shown: a poll hands it the run again, a click selects another execution without a fetch,
 * and which groups are expanded, the timeline's scroll and the graph's zoom all stay.
 */
import type { ExecutionJson, RunJson } from "../http/views.ts";
import { formatMs, h } from "./dom.ts";
import { executionView } from "./execution-view.ts";
import type { LoadLogs } from "./logs-view.ts";
import { GraphView } from "./graph-view.ts";
import { displayRows, groupGraph, runTree } from "./groups.ts";
import { isTerminal, settled, span } from "./model.ts";
import { TimelineView } from "./timeline-view.ts";

/** What the page asks of the API. */
export interface RunActions {
  /** `POST /executions/{id}/cancel`; rejects with the API's message. */
  readonly cancel: (executionId: string) => Promise<void>;
  /**
   * `POST /executions/{id}/rerun`, for a failed or cancelled run; rejects with the API's
   * message. The page is drawn again from a full read once it resolves.
   */
  readonly rerun?: (runId: string) => Promise<void>;
  /** `GET /executions/{id}/logs`, for the details' Logs section. */
  readonly logs?: LoadLogs;
}

function legend(): HTMLElement {
  const item = (cls: string, text: string): HTMLElement => h("span", { class: "legend-item" }, h("i", { class: cls }), text);
  return h(
    "p",
    { class: "legend" },
    item("segment-waiting", "waiting for upstreams"),
    item("segment-queued", "queued"),
    item("segment-suspended", "suspended"),
    item("segment-sleeping", "sleeping"),
    item("segment-folded", "re-runs folded (×count)"),
    item("outcome-running", "running"),
    item("outcome-completed", "completed"),
    item("outcome-retried", "failed, retried"),
    item("outcome-failed", "failed"),
    item("outcome-cancelled", "cancelled"),
    item("group-load", "group: how many ran at once"),
    item("edge-dependency", "dependency"),
    item("edge-child", "parent–child"),
  );
}

/** One run's page, kept while the run is shown. */
export class RunPage {
  readonly element: HTMLElement;
  readonly #header = h("section", { class: "run-header" });
  readonly #details = h("aside", { class: "panel", id: "execution" });
  readonly #timeline: TimelineView;
  readonly #graph: GraphView;
  /** Keys of the groups expanded by a click. */
  readonly #expanded = new Set<string>();
  #run: RunJson | undefined;
  #selectedId: string | undefined;
  #message = "";
  /**
   * What the header's title and the details were last drawn from: redrawn only when it
   * changes, so a button is not replaced under the pointer and an opened stack stays open.
   * The details' key includes a 5-second tick, so their durations still move on.
   */
  #titleKey = "";
  #detailsKey = "";

  constructor(
    private readonly actions: RunActions,
    selected: string | undefined,
  ) {
    this.#selectedId = selected;
    const toggle = (key: string): void => {
      if (!this.#expanded.delete(key)) this.#expanded.add(key);
      this.#render(false);
    };
    this.#timeline = new TimelineView(toggle);
    this.#graph = new GraphView(toggle);
    this.element = h(
      "div",
      { class: "run-page" },
      this.#header,
      legend(),
      h(
        "div",
        { class: "run-body" },
        h(
          "div",
          { class: "run-views" },
          h("section", { class: "panel", id: "timeline" }, h("h2", {}, "Timeline"), this.#timeline.element),
          h("section", { class: "panel", id: "graph" }, h("h2", {}, "Graph"), this.#graph.element),
        ),
        this.#details,
      ),
    );
    this.#watchWidth();
  }

  /** Draws again at the page's new width (a settled run is not polled). */
  #watchWidth(): void {
    let width = 0;
    new ResizeObserver(([entry]) => {
      const now = Math.round(entry?.contentRect.width ?? 0);
      if (now === width) return;
      width = now;
      this.#render(false);
    }).observe(this.element);
  }

  /** The run last drawn. */
  get run(): RunJson | undefined {
    return this.#run;
  }

  /** The execution shown beside the views: the one selected, else the run's root. */
  get selected(): ExecutionJson | undefined {
    const run = this.#run;
    if (run === undefined) return undefined;
    return run.executions.find((e) => e.id === this.#selectedId) ?? run.executions.find((e) => e.id === run.id);
  }

  /** Draws the run as a poll read it. */
  update(run: RunJson): void {
    this.#run = run;
    this.#render(false);
  }

  /** Shows another execution's details, centring the graph on it and scrolling its row into view. */
  select(executionId: string | undefined): void {
    this.#selectedId = executionId;
    this.#message = "";
    this.#render(true);
  }

  #render(moved: boolean): void {
    const run = this.#run;
    if (run === undefined) return;
    const now = Date.now();
    const selected = this.selected;
    const tree = runTree(run);
    const width = Math.max((this.#timeline.element.parentElement?.clientWidth ?? 0) - 34, 560);
    this.#drawHeader(run, now);
    this.#timeline.update(run, displayRows(tree, this.#expanded), now, selected?.id, width);
    this.#graph.update(run, groupGraph(run, tree, this.#expanded), selected?.id);
    if (moved && selected !== undefined) {
      this.#graph.centre(selected.id);
      this.#timeline.reveal(selected.id);
    }
    const detailsKey =
      selected === undefined
        ? ""
        : [selected.id, selected.state, selected.attempt, selected.history.length, selected.finishedAt, selected.why?.text, this.#message, Math.floor(now / 5000)].join("|");
    if (detailsKey !== this.#detailsKey) {
      this.#detailsKey = detailsKey;
      this.#details.replaceChildren(...(selected === undefined ? [] : this.#detailParts(run, selected, now)));
    }
  }

  #drawHeader(run: RunJson, now: number): void {
    const root = run.executions.find((e) => e.id === run.id);
    const { start, end } = span(run, now);
    let failed = 0;
    for (const e of run.executions) if (e.state === "failed") failed += 1;
    const facts =
      `run ${run.id} · started ${new Date(start).toLocaleString()} · ${settled(run) ? "took" : "running for"} ${formatMs(end - start)} · ` +
      `${run.executions.length.toLocaleString("en-US")} executions${failed > 0 ? ` · ${failed} failed` : ""}`;
    const titleKey = `${root?.task}|${root?.state}`;
    if (titleKey !== this.#titleKey || this.#header.childElementCount === 0) {
      this.#titleKey = titleKey;
      const title = h("h1", {}, root?.task ?? run.id, " ", h("span", { class: `badge state-${root?.state ?? "unknown"}` }, root?.state ?? "unknown"));
      if (root !== undefined && !isTerminal(root.state)) title.append(" ", this.#cancelButton(root, "cancel run"));
      if (root !== undefined && (root.state === "failed" || root.state === "cancelled") && this.actions.rerun !== undefined) {
        title.append(" ", this.#rerunButton(root, this.actions.rerun));
      }
      this.#header.replaceChildren(title, h("p", { class: "facts" }, facts));
    } else {
      const line = this.#header.querySelector(".facts");
      if (line !== null) line.textContent = facts;
    }
  }

  #detailParts(run: RunJson, e: ExecutionJson, now: number): Node[] {
    const parts: Node[] = [];
    if (!isTerminal(e.state) && e.id !== run.id) parts.push(h("p", { class: "actions" }, this.#cancelButton(e, "cancel execution")));
    if (this.#message !== "") parts.push(h("p", { class: "failure action-error" }, this.#message));
    parts.push(executionView(run, e, now, this.actions.logs));
    return parts;
  }

  #rerunButton(root: ExecutionJson, rerun: (runId: string) => Promise<void>): HTMLButtonElement {
    const button = h("button", { type: "button", class: "rerun", "data-rerun": root.id }, "re-run");
    button.title = "run it again: completed executions are reused, what failed or was cancelled runs again";
    button.addEventListener("click", () => {
      button.disabled = true;
      rerun(root.id).then(
        () => (button.textContent = "re-running…"),
        (error: unknown) => {
          this.#message = `Cannot re-run ${root.task}: ${(error as Error).message}`;
          button.disabled = false;
          this.#detailsKey = "";
          this.#render(false);
        },
      );
    });
    return button;
  }

  #cancelButton(e: ExecutionJson, text: string): HTMLButtonElement {
    const button = h("button", { type: "button", class: "cancel", "data-cancel": e.id }, text);
    button.addEventListener("click", () => {
      button.disabled = true;
      this.actions.cancel(e.id).then(
        () => (button.textContent = "cancelling…"),
        (error: unknown) => {
          this.#message = `Cannot cancel ${e.task}: ${(error as Error).message}`;
          button.disabled = false;
          this.#render(false);
        },
      );
    });
    return button;
  }
}
