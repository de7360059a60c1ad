/**
 * The dashboard's groups: the executions of one task under one parent fold into one row and
 * one node from `groupThreshold` up; small groups stay rows of their own; expanded, a group
 * lists its members in creation order; and the graph and its layout come from the run's
 * content only, the same whatever the ids and the order the API lists executions and edges in.
 */
import { describe, expect, it } from "vitest";
import type { ExecutionJson, RunJson } from "../../sdk/http/views.ts";
import { countsText, displayRows, groupGraph, groupThreshold, runTree, type DisplayRow, type GroupGraph } from "../../sdk/dashboard/groups.ts";
import { layoutGraph } from "../../sdk/dashboard/graph-layout.ts";

type Spec = { key: string; task: string; parent?: string; at: number; args?: unknown[]; state?: ExecutionJson["state"] };

/** A run from specs, with ids made by `id` (a backend's own ids) and executions listed in `order`. */
function runOf(specs: readonly Spec[], id: (key: string) => string, edges: [string, string][] = [], order: (list: ExecutionJson[]) => ExecutionJson[] = (l) => l): RunJson {
  const executions = specs.map(
    (x): ExecutionJson => ({
      id: id(x.key),
      runId: id("root"),
      ...(x.parent === undefined ? {} : { parentId: id(x.parent) }),
      task: x.task,
      state: x.state ?? "completed",
      attempt: 1,
      createdAt: x.at,
      finishedAt: x.at + 5,
      history: [],
      args: x.args ?? [],
    }),
  );
  return { id: id("root"), executions: order(executions), edges: edges.map(([u, d]) => ({ upstreamId: id(u), downstreamId: id(d), runId: id("root"), kind: "argument", waits: true, generation: 0, released: true, createdAt: 0 })) };
}

/** The root fans out `n` extract_row, each of the first with a child; a report waits for two of them. */
function fanOut(n: number): Spec[] {
  return [
    { key: "root", task: "extract_rows", at: 0 },
    ...Array.from({ length: n }, (_, i): Spec => ({ key: `row${i}`, task: "extract_row", parent: "root", at: 10 + i, args: [i], state: i === 3 ? "failed" : "completed" })),
    { key: "parse0", task: "parse", parent: "row0", at: 10_000 },
    { key: "report", task: "report", parent: "root", at: 20_000 },
  ];
}

const same = (key: string): string => key;
const text = (rows: DisplayRow[]): string[] =>
  rows.map((r) => `${" ".repeat(r.depth)}${r.kind === "group" ? `[${r.group.task} ×${r.group.members.length}${r.expanded ? " open" : ""}]` : `${r.execution.task}(${String(r.execution.args)})`}`);

describe("the dashboard's groups", () => {
  it("folds a task's siblings from the threshold up into one row with counts by state, keeping smaller groups as rows", () => {
    const tree = runTree(runOf(fanOut(12), same));
    expect(text(displayRows(tree, new Set()))).toEqual(["extract_rows()", " [extract_row ×12]", " report()"]);
    const [, group] = displayRows(tree, new Set());
    expect(group?.kind === "group" && countsText(group.group)).toBe("11 completed · 1 failed");
    const small = runTree(runOf(fanOut(groupThreshold - 1), same));
    expect(text(displayRows(small, new Set()))).toEqual([
      "extract_rows()",
      ...Array.from({ length: groupThreshold - 1 }, (_, i) => ` extract_row(${i})`).flatMap((row, i) => (i === 0 ? [row, "  parse()"] : [row])),
      " report()",
    ]);
  });

  it("lists an expanded group's members in creation order, each with its own children", () => {
    const tree = runTree(runOf(fanOut(12), same));
    const rows = text(displayRows(tree, new Set(["root|extract_row"])));
    expect(rows.slice(0, 5)).toEqual(["extract_rows()", " [extract_row ×12 open]", "  extract_row(0)", "   parse()", "  extract_row(1)"]);
    expect(rows.at(-1)).toBe(" report()");
    expect(rows).toHaveLength(16);
  });

  it("draws a collapsed group as one node, its members' edges and descendants folded into it", () => {
    const graph = groupGraph(runOf(fanOut(12), same, [["row0", "report"], ["row5", "report"]]), runTree(runOf(fanOut(12), same, [["row0", "report"], ["row5", "report"]])), new Set());
    expect(graph.nodes.map((n) => n.id)).toEqual(["root", "group:root|extract_row", "report"]);
    expect(graph.edges).toEqual([
      { from: "root", to: "group:root|extract_row", kind: "child" },
      { from: "root", to: "report", kind: "child" },
      { from: "group:root|extract_row", to: "report", kind: "dependency" },
    ]);
    expect(graph.nodeOf.get("parse0")).toBe("group:root|extract_row");
    const open = runOf(fanOut(12), same);
    expect(groupGraph(open, runTree(open), new Set(["root|extract_row"])).nodes).toHaveLength(15);
  });

  it("gives the same graph and layout for the same run whatever its ids and the order it is listed in", () => {
    const edges: [string, string][] = [["row0", "report"], ["row7", "report"]];
    const first = runOf(fanOut(14), same, edges);
    // Another backend: other ids (sorting differently), executions and edges listed in another order.
    const other = runOf(fanOut(14), (key) => `z${key.split("").reverse().join("")}`, edges, (l) => [...l].reverse());
    const shape = (run: RunJson, graph: GroupGraph): string[] => {
      const name = new Map(run.executions.map((e) => [e.id, `${e.task}(${String(e.args)})`]));
      const laid = layoutGraph(graph);
      return graph.nodes.map((n) => {
        const at = laid.nodes.get(n.id);
        return `${n.kind === "group" ? n.group.task : name.get(n.id)} @ ${at?.x},${at?.y}`;
      });
    };
    for (const expanded of [new Set<string>(), new Set(["root|extract_row"])]) {
      const a = groupGraph(first, runTree(first), expanded);
      const b = groupGraph({ ...other, edges: [...other.edges].reverse() }, runTree(other), new Set([...expanded].map((k) => k.replace("root", "ztoor"))));
      expect(shape(other, b)).toEqual(shape(first, a));
      expect(b.edges.length).toBe(a.edges.length);
    }
  });
});
