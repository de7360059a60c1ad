/**
 * A run's executions folded into groups: the executions of one task under one parent (a
 * fan-out's `extract_row ×10,000`) form a group, shown as one row of the timeline and one
 * node of the graph until expanded. Every order here comes from the run's content (creation
 * time, then the call's label), never from ids, which differ between backends: the same code
 * gives the same rows and the same graph on the embedded engine and on AWS.
 */
import type { ExecutionJson, RunJson } from "../http/views.ts";
import { label } from "./model.ts";

/** Siblings of one task at or above this count are grouped, collapsed until expanded; fewer stay rows of their own. */
export const groupThreshold = 10;

/** A group expanded in the graph draws one node per member only up to this many members (dagre's layout grows faster than linearly). */
export const graphExpandLimit = 200;

/** The executions of one task under one parent. */
export interface Group {
  /** `parentId|task`: the same across polls, so what is expanded stays expanded. */
  readonly key: string;
  readonly task: string;
  readonly parentId: string | undefined;
  readonly members: readonly ExecutionJson[];
  /** How many members are in each state. */
  readonly counts: Readonly<Record<string, number>>;
}

/** A row of the timeline: one execution, or a group's header. */
export type DisplayRow =
  | { readonly kind: "execution"; readonly execution: ExecutionJson; readonly depth: number }
  | { readonly kind: "group"; readonly group: Group; readonly depth: number; readonly expanded: boolean };

/** A run's executions as a tree of groups: each parent's children by task, in creation order. */
export interface RunTree {
  /** Top-level clusters (the root, and any execution whose parent is not in the run). */
  readonly top: readonly Group[];
  /** The clusters of children of each execution. */
  readonly children: ReadonlyMap<string, readonly Group[]>;
}

/** Creation order, ties broken by the call's label, then by id (only for identical calls). */
function byCreation(a: ExecutionJson, b: ExecutionJson): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  const la = label(a);
  const lb = label(b);
  if (la !== lb) return la < lb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function cluster(parentId: string | undefined, siblings: readonly ExecutionJson[]): Group[] {
  const byTask = new Map<string, ExecutionJson[]>();
  for (const e of siblings) {
    const list = byTask.get(e.task);
    if (list === undefined) byTask.set(e.task, [e]);
    else list.push(e);
  }
  return [...byTask].map(([task, members]) => {
    const counts: Record<string, number> = {};
    for (const m of members) counts[m.state] = (counts[m.state] ?? 0) + 1;
    return { key: `${parentId ?? ""}|${task}`, task, parentId, members, counts };
  });
}

const natural = new Intl.Collator("en", { numeric: true });

/**
 * The graph's order of siblings: by what each node shows (numbers compared as numbers), then
 * by creation. Not by creation first, as the timeline is: calls one backend makes in the
 * same millisecond another makes milliseconds apart, so creation order alone would draw
 * the same code's graph differently on each.
 */
function byContent(a: ExecutionJson, b: ExecutionJson): number {
  return natural.compare(label(a), label(b)) || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Sibling groups in the graph: by task, each group being one task's executions under one parent. */
function byTask(a: Group, b: Group): number {
  return natural.compare(a.task, b.task);
}

/** Builds the run's tree of groups, in a linear pass after one sort. */
export function runTree(run: RunJson): RunTree {
  const ids = new Set(run.executions.map((e) => e.id));
  const siblings = new Map<string | undefined, ExecutionJson[]>();
  for (const e of [...run.executions].sort(byCreation)) {
    const parent = e.parentId !== undefined && ids.has(e.parentId) ? e.parentId : undefined;
    const list = siblings.get(parent);
    if (list === undefined) siblings.set(parent, [e]);
    else list.push(e);
  }
  const children = new Map<string, Group[]>();
  for (const [parent, list] of siblings) if (parent !== undefined) children.set(parent, cluster(parent, list));
  return { top: cluster(undefined, siblings.get(undefined) ?? []), children };
}

/** Whether a group is drawn as one row or node: large, and not expanded. */
export function collapsed(group: Group, expanded: ReadonlySet<string>): boolean {
  return group.members.length >= groupThreshold && !expanded.has(group.key);
}

/**
 * The timeline's rows: depth first under parents; a large group is a header row, followed
 * by its members (and their subtrees) once expanded.
 */
export function displayRows(tree: RunTree, expanded: ReadonlySet<string>): DisplayRow[] {
  const out: DisplayRow[] = [];
  const seen = new Set<string>();
  const visit = (e: ExecutionJson, depth: number): void => {
    // A parent cycle (malformed data) must not loop forever.
    if (seen.has(e.id)) return;
    seen.add(e.id);
    out.push({ kind: "execution", execution: e, depth });
    for (const group of tree.children.get(e.id) ?? []) visitGroup(group, depth + 1);
  };
  const visitGroup = (group: Group, depth: number): void => {
    if (group.members.length < groupThreshold) {
      for (const m of group.members) visit(m, depth);
      return;
    }
    const open = expanded.has(group.key);
    out.push({ kind: "group", group, depth, expanded: open });
    if (open) for (const m of group.members) visit(m, depth + 1);
  };
  for (const group of tree.top) visitGroup(group, 0);
  return out;
}

/** `9,998 completed · 2 running`: a group's members by state, most first. */
export function countsText(group: Group): string {
  return Object.entries(group.counts)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([state, n]) => `${n.toLocaleString("en-US")} ${state}`)
    .join(" · ");
}

/** The state a group is drawn in: failed if any failed, else running while any is unfinished, else completed (or cancelled). */
export function groupState(group: Group): string {
  const { counts } = group;
  if ((counts.failed ?? 0) > 0) return "failed";
  for (const state of ["running", "queued", "waiting", "suspended", "sleeping"]) if ((counts[state] ?? 0) > 0) return state;
  return (counts.completed ?? 0) > 0 ? "completed" : "cancelled";
}

/** A node of the graph: an execution, or a collapsed group standing for its members and everything under them. */
export type GraphNode =
  | { readonly kind: "execution"; readonly id: string; readonly execution: ExecutionJson }
  | { readonly kind: "group"; readonly id: string; readonly group: Group };

/** An edge between two nodes; a dependency is drawn solid, a parent–child link dashed. */
export interface NodeEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: "dependency" | "child";
}

/** The graph of a run with its groups: nodes in tree order, edges deduplicated and sorted by their ends' order. */
export interface GroupGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly NodeEdge[];
  /** The node that stands for each execution. */
  readonly nodeOf: ReadonlyMap<string, string>;
}

/** The node id of a group (never an execution id: those have no `group:` prefix). */
export function groupNodeId(group: Group): string {
  return `group:${group.key}`;
}

/**
 * The graph's nodes and edges. A group collapsed, or too large to draw member by member
 * ({@link graphExpandLimit}), is one node; its members' descendants fold into it too.
 */
export function groupGraph(run: RunJson, tree: RunTree, expanded: ReadonlySet<string>): GroupGraph {
  const nodes: GraphNode[] = [];
  const nodeOf = new Map<string, string>();
  const order = new Map<string, number>();
  const fold = (e: ExecutionJson, into: string): void => {
    if (nodeOf.has(e.id)) return;
    nodeOf.set(e.id, into);
    for (const group of tree.children.get(e.id) ?? []) for (const m of group.members) fold(m, into);
  };
  const visit = (e: ExecutionJson): void => {
    if (nodeOf.has(e.id)) return;
    nodeOf.set(e.id, e.id);
    order.set(e.id, nodes.length);
    nodes.push({ kind: "execution", id: e.id, execution: e });
    for (const group of [...(tree.children.get(e.id) ?? [])].sort(byTask)) visitGroup(group);
  };
  const visitGroup = (group: Group): void => {
    if (!collapsed(group, expanded) && group.members.length <= graphExpandLimit) {
      for (const m of [...group.members].sort(byContent)) visit(m);
      return;
    }
    const id = groupNodeId(group);
    order.set(id, nodes.length);
    nodes.push({ kind: "group", id, group });
    for (const m of group.members) fold(m, id);
  };
  for (const group of [...tree.top].sort(byTask)) visitGroup(group);
  const edges = new Map<string, NodeEdge>();
  const add = (from: string | undefined, to: string | undefined, kind: NodeEdge["kind"]): void => {
    if (from === undefined || to === undefined || from === to) return;
    const key = `${kind}|${from}|${to}`;
    if (!edges.has(key)) edges.set(key, { from, to, kind });
  };
  for (const e of run.executions) if (e.parentId !== undefined) add(nodeOf.get(e.parentId), nodeOf.get(e.id), "child");
  for (const edge of run.edges) add(nodeOf.get(edge.upstreamId), nodeOf.get(edge.downstreamId), "dependency");
  const rank = (id: string): number => order.get(id) ?? 0;
  const sorted = [...edges.values()].sort((a, b) => rank(a.from) - rank(b.from) || rank(a.to) - rank(b.to) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  return { nodes, edges: sorted, nodeOf };
}
