/**
 * The run's timeline as SVG: one row per execution, its bar split into waiting, queued,
 * sleeping and running stretches, running ones coloured by how the attempt ended, so what
 * ran in parallel lines up vertically.
 */
import type { RunJson } from "../http/views.ts";
import { formatMs, runLink, s } from "./dom.ts";
import { label, rows, segments, span } from "./model.ts";

const rowHeight = 28;
const labelWidth = 240;
const statusWidth = 150;
const axisHeight = 24;

/** Tick spacing of about a sixth of the span, rounded to 1, 2 or 5 × a power of ten. */
function tickStep(spanMs: number): number {
  const rough = spanMs / 6;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? power * 10;
}

/**
 * Draws the timeline.
 * @param selected - the execution to highlight
 */
export function timelineView(run: RunJson, width: number, now: number, selected?: string): SVGSVGElement {
  const list = rows(run);
  const { start, end } = span(run, now);
  const barWidth = Math.max(width - labelWidth - statusWidth, 100);
  const x = (t: number): number => labelWidth + ((t - start) / (end - start)) * barWidth;
  const height = axisHeight + list.length * rowHeight + 8;
  const svg = s("svg", { class: "timeline", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "timeline" });

  const step = tickStep(end - start);
  for (let t = 0; t <= end - start; t += step) {
    svg.append(
      s("line", { class: "tick", x1: x(start + t), x2: x(start + t), y1: axisHeight - 4, y2: height }),
      s("text", { class: "tick-label", x: x(start + t), y: axisHeight - 8, "text-anchor": "middle" }, formatMs(t)),
    );
  }

  list.forEach(({ execution: e, depth }, i) => {
    const y = axisHeight + i * rowHeight;
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
    svg.append(row);
  });
  return svg;
}
