/**
 * The run's graph as SVG, laid out by dagre: one node per execution, dependencies as solid
 * arrows (upstream to downstream), parent–child links dashed.
 */
import { Graph, layout } from "@dagrejs/dagre";
import type { RunJson } from "../http/views.ts";
import { runLink, s } from "./dom.ts";
import { graphEdges, label } from "./model.ts";

const nodeHeight = 44;

/**
 * Draws the graph.
 * @param selected - the execution to highlight
 */
export function graphView(run: RunJson, selected?: string): SVGSVGElement {
  const graph = new Graph({ multigraph: true });
  graph.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 48, marginx: 12, marginy: 12 });
  for (const e of run.executions) graph.setNode(e.id, { width: Math.max(120, label(e).length * 7.2 + 24), height: nodeHeight });
  const edges = graphEdges(run);
  edges.forEach((edge, i) => graph.setEdge(edge.from, edge.to, { minlen: 1 }, String(i)));
  layout(graph);

  const { width = 0, height = 0 } = graph.graph();
  const svg = s("svg", { class: "graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "graph" });
  svg.append(
    s(
      "defs",
      {},
      s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" })),
    ),
  );
  edges.forEach((edge, i) => {
    const points: readonly { x: number; y: number }[] = graph.edge({ v: edge.from, w: edge.to, name: String(i) })?.points ?? [];
    const d = points.map((p, j) => `${j === 0 ? "M" : "L"} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
    svg.append(
      s("path", {
        class: `edge edge-${edge.kind}`,
        d,
        "data-from": edge.from,
        "data-to": edge.to,
        "marker-end": edge.kind === "dependency" ? "url(#arrow)" : undefined,
      }),
    );
  });
  for (const e of run.executions) {
    const node = graph.node(e.id);
    if (node === undefined) continue;
    const { x = 0, y = 0, width: w = 0, height: h = 0 } = node;
    const group = s("g", { class: `node state-${e.state}${e.id === selected ? " selected" : ""}`, "data-execution-id": e.id, "data-task": e.task });
    group.append(
      s("rect", { x: x - w / 2, y: y - h / 2, width: w, height: h, rx: 6 }),
      s("text", { class: "node-label", x, y: y - 3, "text-anchor": "middle" }, label(e)),
      s("text", { class: "node-state", x, y: y + 13, "text-anchor": "middle" }, e.attempt > 1 ? `${e.state} · ${e.attempt} attempts` : e.state),
    );
    svg.append(s("a", { href: runLink(run.id, e.id) }, group));
  }
  return svg;
}
