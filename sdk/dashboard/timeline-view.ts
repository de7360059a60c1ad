/**
 * The run's timeline as SVG: one row per execution, its bar split into waiting, queued,
 * sleeping and running stretches, running ones coloured by how the attempt ended, so what
 * ran in parallel lines up vertically. A large group of siblings is one row, drawn as how
 * many of its members ran at each moment, until expanded.
 *
 * Only the rows in view are drawn (a 10,000-row run keeps about 30 in the page): the rows
 * scroll in a box of their own under a fixed time axis, and a poll redraws those rows only.
 */
import type { ExecutionJson, RunJson } from "../http/views.ts";
import { formatMs, h, runLink, s } from "./dom.ts";
import { countsText, groupState, type DisplayRow, type Group } from "./groups.ts";
import { label, segments, span } from "./model.ts";

const rowHeight = 28;
const labelWidth = 240;
const statusWidth = 190;
const axisHeight = 24;
/** Rows drawn beyond each edge of the view, so a short scroll shows no gap before the redraw. */
const overscan = 8;

/** Tick spacing of about a sixth of the span, rounded to 1, 2 or 5 × a power of ten. */
function tickStep(spanMs: number): number {
  const rough = spanMs / 6;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? power * 10;
}

/** What a redraw needs: the rows, the time scale and the selection. */
interface Frame {
  readonly run: RunJson;
  readonly rows: readonly DisplayRow[];
  readonly now: number;
  readonly selected: string | undefined;
  readonly width: number;
  readonly start: number;
  readonly end: number;
}

/** The timeline of one run, kept across polls: {@link TimelineView.update} redraws the rows in view. */
export class TimelineView {
  /** The axis and the scrolling box of rows. */
  readonly element: HTMLElement;
  readonly #axis: SVGSVGElement;
  readonly #scroller: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #rows: SVGSVGElement;
  #frame: Frame | undefined;
  #pending = false;

  /** @param onToggle - called with a group's key when its row is clicked */
  constructor(private readonly onToggle: (key: string) => void) {
    this.#axis = s("svg", { class: "timeline-axis", height: axisHeight });
    this.#rows = s("svg", { class: "timeline", role: "img", "aria-label": "timeline" });
    this.#spacer = h("div", { class: "timeline-spacer" }, this.#rows);
    this.#scroller = h("div", { class: "timeline-scroll" }, this.#spacer);
    this.#scroller.addEventListener("scroll", () => this.#schedule());
    this.element = h("div", { class: "timeline-box" }, this.#axis, this.#scroller);
  }

  /**
   * Takes the run's rows as they now are, and redraws the axis and the rows in view.
   * @param width - the width to draw in, in CSS pixels
   */
  update(run: RunJson, rows: readonly DisplayRow[], now: number, selected: string | undefined, width: number): void {
    const { start, end } = span(run, now);
    this.#frame = { run, rows, now, selected, width, start, end };
    this.#spacer.style.height = `${rows.length * rowHeight + 8}px`;
    this.#draw();
  }

  /** Scrolls the execution's row into view, if it has one (not folded into a collapsed group). */
  reveal(executionId: string): void {
    const index = this.#frame?.rows.findIndex((r) => r.kind === "execution" && r.execution.id === executionId) ?? -1;
    if (index < 0) return;
    const top = index * rowHeight;
    const { scrollTop, clientHeight } = this.#scroller;
    if (top < scrollTop || top + rowHeight > scrollTop + clientHeight) this.#scroller.scrollTop = Math.max(0, top - clientHeight / 2);
  }

  #schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.#draw();
    });
  }

  #draw(): void {
    const frame = this.#frame;
    if (frame === undefined) return;
    const { width, start, end, rows } = frame;
    const barWidth = Math.max(width - labelWidth - statusWidth, 100);
    const x = (t: number): number => labelWidth + ((t - start) / (end - start)) * barWidth;
    const first = Math.max(0, Math.floor(this.#scroller.scrollTop / rowHeight) - overscan);
    // Before the box has a height (not yet in the page), draw a screenful.
    const visible = Math.ceil((this.#scroller.clientHeight || 800) / rowHeight);
    const last = Math.min(rows.length, first + visible + 2 * overscan);
    const height = (last - first) * rowHeight;
    const step = tickStep(end - start);

    this.#axis.setAttribute("width", String(width));
    this.#axis.setAttribute("viewBox", `0 0 ${width} ${axisHeight}`);
    const labels: SVGElement[] = [];
    const ticks: SVGElement[] = [];
    for (let t = 0; t <= end - start; t += step) {
      labels.push(s("text", { class: "tick-label", x: x(start + t), y: axisHeight - 8, "text-anchor": "middle" }, formatMs(t)));
      ticks.push(s("line", { class: "tick", x1: x(start + t), x2: x(start + t), y1: 0, y2: height }));
    }
    this.#axis.replaceChildren(...labels);

    Object.assign(this.#rows.style, { top: `${first * rowHeight}px` });
    this.#rows.setAttribute("width", String(width));
    this.#rows.setAttribute("height", String(height));
    this.#rows.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const drawn: SVGElement[] = [...ticks];
    for (let i = first; i < last; i += 1) {
      const row = rows[i];
      if (row === undefined) continue;
      const y = (i - first) * rowHeight;
      drawn.push(row.kind === "group" ? this.#groupRow(row.group, row.depth, row.expanded, y, x, barWidth, frame) : executionRow(row.execution, row.depth, y, x, barWidth, frame));
    }
    this.#rows.replaceChildren(...drawn);
  }

  #groupRow(group: Group, depth: number, expanded: boolean, y: number, x: (t: number) => number, barWidth: number, frame: Frame): SVGElement {
    const row = s("g", {
      class: `row group-row state-${groupState(group)}`,
      "data-group": group.key,
      "data-task": group.task,
      "data-state": groupState(group),
      "data-expanded": String(expanded),
      role: "button",
      "aria-expanded": String(expanded),
      tabindex: 0,
      onclick: () => this.onToggle(group.key),
      onkeydown: (event: Event) => {
        if ((event as KeyboardEvent).key !== "Enter" && (event as KeyboardEvent).key !== " ") return;
        event.preventDefault();
        this.onToggle(group.key);
      },
    });
    const counts = countsText(group);
    row.append(
      s("rect", { class: "row-bg", x: 0, y, width: frame.width, height: rowHeight }),
      s("text", { class: "row-label group-label", x: 8 + depth * 14, y: y + rowHeight / 2 + 4 }, `${expanded ? "▾" : "▸"} ${group.task} ×${group.members.length.toLocaleString("en-US")}`),
      s("text", { class: "row-status", x: labelWidth + barWidth + 12, y: y + rowHeight / 2 + 4 }, counts),
      s("title", {}, `${group.task}: ${counts}; click to ${expanded ? "collapse" : "expand"}`),
      ...groupLoad(group, y, x, barWidth, frame),
    );
    return row;
  }
}

function executionRow(e: ExecutionJson, depth: number, y: number, x: (t: number) => number, barWidth: number, frame: Frame): SVGElement {
  const { run, now, selected, width } = frame;
  const row = s("a", { href: runLink(run.id, e.id) });
  const group = s("g", {
    class: `row state-${e.state}${e.id === selected ? " selected" : ""}`,
    "data-execution-id": e.id,
    "data-task": e.task,
    "data-state": e.state,
  });
  group.append(
    s("rect", { class: "row-bg", x: 0, y, width, height: rowHeight }),
    s("text", { class: "row-label", x: 8 + depth * 14, y: y + rowHeight / 2 + 4 }, label(e)),
    s(
      "text",
      { class: "row-status", x: labelWidth + barWidth + 12, y: y + rowHeight / 2 + 4 },
      `${e.state} · ${formatMs((e.finishedAt ?? now) - e.createdAt)}${e.attempt > 1 ? ` · ${e.attempt} attempts` : ""}`,
    ),
  );
  for (const segment of segments(e, now)) {
    const left = x(segment.from);
    // A folded stretch holds running time too: drawn as tall as a running one, its count inside.
    const tall = segment.kind === "running" || segment.kind === "folded";
    const rect = s("rect", {
      class: `segment segment-${segment.kind}${segment.outcome === undefined ? "" : ` outcome-${segment.outcome}`}`,
      "data-kind": segment.kind,
      "data-attempt": segment.attempt,
      x: left,
      y: y + (tall ? 6 : 10),
      // A segment shorter than a pixel still shows.
      width: Math.max(x(segment.to) - left, tall ? 2 : 1),
      height: tall ? rowHeight - 12 : rowHeight - 20,
      rx: 2,
    });
    const what = segment.folded === undefined ? segment.kind : `${segment.folded} transitions folded (re-runs, suspensions)`;
    rect.append(s("title", {}, `${e.task}: ${what}${segment.outcome === undefined ? "" : ` (${segment.outcome})`}, attempt ${segment.attempt}, ${formatMs(segment.to - segment.from)}`));
    group.append(rect);
    if (segment.folded !== undefined && x(segment.to) - left >= 32) {
      const middle = { x: (left + x(segment.to)) / 2, y: y + rowHeight / 2 + 4 };
      group.append(s("text", { class: "segment-count", ...middle, "text-anchor": "middle" }, `×${segment.folded}`));
    }
  }
  row.append(group);
  return row;
}

/**
 * A group's bar: its span from the first member's creation to the last one's end, and over
 * it how many members were running at each moment (3-pixel bins, scaled to the busiest).
 */
function groupLoad(group: Group, y: number, x: (t: number) => number, barWidth: number, frame: Frame): SVGElement[] {
  const bins = Math.max(1, Math.floor(barWidth / 3));
  const running = new Float64Array(bins + 1);
  const bin = (t: number): number => Math.min(bins - 1, Math.max(0, Math.floor(((x(t) - labelWidth) / barWidth) * bins)));
  let from = Infinity;
  let to = -Infinity;
  for (const m of group.members) {
    from = Math.min(from, m.createdAt);
    to = Math.max(to, m.finishedAt ?? frame.now);
    for (const segment of segments(m, frame.now)) {
      if (segment.kind !== "running") continue;
      running[bin(segment.from)] = (running[bin(segment.from)] ?? 0) + 1;
      running[bin(segment.to) + 1] = (running[bin(segment.to) + 1] ?? 0) - 1;
    }
  }
  let level = 0;
  let peak = 1;
  const levels: number[] = [];
  for (let i = 0; i < bins; i += 1) {
    level += running[i] ?? 0;
    levels.push(level);
    peak = Math.max(peak, level);
  }
  const base = y + rowHeight - 6;
  const tall = rowHeight - 12;
  const points = levels.map((n, i) => `L ${(labelWidth + (i / bins) * barWidth).toFixed(1)} ${(base - (n / peak) * tall).toFixed(1)} L ${(labelWidth + ((i + 1) / bins) * barWidth).toFixed(1)} ${(base - (n / peak) * tall).toFixed(1)}`);
  const left = x(from);
  return [
    s("rect", { class: "segment group-span", x: left, y: y + 10, width: Math.max(x(to) - left, 1), height: rowHeight - 20, rx: 2 }),
    s(
      "path",
      { class: `group-load outcome-${groupState(group)}`, d: `M ${labelWidth} ${base} ${points.join(" ")} L ${labelWidth + barWidth} ${base} Z` },
      s("title", {}, `${group.task}: at most ${peak.toLocaleString("en-US")} running at once`),
    ),
  ];
}
