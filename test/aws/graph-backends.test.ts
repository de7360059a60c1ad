/**
 * The dashboard draws the same graph for the same code on every backend: a run made on the
 * embedded engine and the same run made on the local cloud (DynamoDB Local, the SQS server,
 * a runtime per function, other ids and other creation times) give the same nodes, the same
 * edges and the same layout, fan-out group included. Siblings made in one millisecond on
 * one backend and apart on the other are where a layout by creation order would differ.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createEngine, task, workflow, type Engine, type Execution } from "floe";
import { startLocalCloud } from "floe/local-cloud";
import { runJson } from "../../sdk/http/describe.ts";
import { groupGraph, runTree } from "../../sdk/dashboard/groups.ts";
import { layoutGraph, nodeLabel, nodeState } from "../../sdk/dashboard/graph-layout.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { ManualClock } from "../support/manual-clock.ts";

const emulators = emulatorsForFile();

const aHeader = task("gb_a_header", async () => "sales");
const bRow = task("gb_b_row", async (i: number) => i * 2);
const cTotal = task("gb_c_total", { wait: true }, async (title: Execution<string>, rows: Execution<number>[]) => [title, ...rows].length);
const dNote = task("gb_d_note", async (to: string) => `sent to ${to}`);
/** A header, a fan-out of 12 rows (a group), a total that waits for them all, and notes side by side, whose order the layout shows. */
const report = workflow("gb_report", async () => {
  const title = aHeader.submit();
  const rows = Array.from({ length: 12 }, (_, i) => bRow.submit(i));
  for (const to of ["sales", "ops", "legal", "finance"]) {
    dNote.submit(to);
    // Apart in time here, in the same millisecond on the engine whose clock stands still.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return cTotal.submit(title, rows);
});

/** The graph the dashboard draws for `engine`'s run of `report`, with the nodes named by what they show, not by id. */
async function drawn(engine: Engine): Promise<unknown> {
  const run = engine.submit(report);
  await run.result();
  const view = await engine.getRun(run.id);
  if (view === undefined) throw new Error("no run");
  const json = runJson(view);
  const model = groupGraph(json, runTree(json), new Set());
  const { nodes, edges, size } = layoutGraph(model);
  const name = new Map(model.nodes.map((n) => [n.id, `${nodeLabel(n)} [${nodeState(n)}]`]));
  return {
    size,
    nodes: model.nodes.map((n) => ({ shows: name.get(n.id), at: nodes.get(n.id) })),
    edges: model.edges.map((e, i) => ({ from: name.get(e.from), to: name.get(e.to), points: edges[i] })),
  };
}

describe("the dashboard's graph across backends", () => {
  const closing: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closing) await close();
  });

  it("is the same for the same code on the embedded engine and on the local cloud", { timeout: 120_000 }, async () => {
    // Its clock stands still: every execution is made in the same millisecond.
    const embedded = createEngine({ clock: new ManualClock(Date.parse("2026-12-01T09:00:00Z")) });
    closing.push(() => embedded.close());
    const cloud = await startLocalCloud({ endpoints: emulators.endpoints, prefix: "gb" });
    closing.push(() => cloud.close());
    const here = await drawn(embedded);
    expect(here).toMatchObject({ nodes: expect.arrayContaining([expect.objectContaining({ shows: "gb_b_row ×12 [12 completed]" })]) });
    expect(await drawn(cloud)).toEqual(here);
  });
});
