/**
 * The graph's layout by dagre, apart from the DOM: nodes and edges are added in the order
 * `groupGraph` gives, which comes from the run's content, so the same code lays out the same.
 */
import { Graph, layout } from "@dagrejs/dagre";
import { countsText, type GraphNode, type GroupGraph } from "./groups.ts";
import { label } from "./model.ts";

const nodeHeight = 44;

/** A rectangle: a node's centre and size, or the view's corner and size. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A node's first line: the call, or the group's task and size. */
export function nodeLabel(node: GraphNode): string {
  return node.kind === "execution" ? label(node.execution) : `${node.group.task} ×${node.group.members.length.toLocaleString("en-US")}`;
}

/** A node's second line: the execution's state, or the group's counts by state. */
export function nodeState(node: GraphNode): string {
  if (node.kind === "group") return countsText(node.group);
  const e = node.execution;
  return e.attempt > 1 ? `${e.state} · ${e.attempt} attempts` : e.state;
}

/** Where dagre puts the nodes (centre and size) and the edges' points (by index) of a graph, and its size. */
export interface GraphLayout {
  readonly nodes: Map<string, Box>;
  readonly edges: (readonly { x: number; y: number }[])[];
  readonly size: { readonly w: number; readonly h: number };
}

/** Lays the graph out with dagre, adding nodes and edges in the model's order (the layout depends on it). */
export function layoutGraph(model: GroupGraph): GraphLayout {
  const graph = new Graph({ multigraph: true });
  graph.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 48, marginx: 12, marginy: 12 });
  for (const node of model.nodes) {
    const text = Math.max(nodeLabel(node).length * 7.2, nodeState(node).length * 6.4);
    graph.setNode(node.id, { width: Math.max(120, text + 24), height: nodeHeight });
  }
  model.edges.forEach((edge, i) => graph.setEdge(edge.from, edge.to, { minlen: 1 }, String(i)));
  layout(graph);
  const { width = 1, height = 1 } = graph.graph();
  const nodes = new Map(
    model.nodes.map((n): [string, Box] => {
      const { x = 0, y = 0, width: w = 0, height: ht = 0 } = graph.node(n.id) ?? {};
      return [n.id, { x, y, w, h: ht }];
    }),
  );
  const edges = model.edges.map((edge, i): { x: number; y: number }[] => graph.edge({ v: edge.from, w: edge.to, name: String(i) })?.points ?? []);
  return { nodes, edges, size: { w: Math.max(width, 1), h: Math.max(height, 1) } };
}

