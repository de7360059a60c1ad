/** renderTimeline over hand-built runs: rows, bars, states and the wall-versus-task-time footer. */
import { describe, expect, it } from "vitest";
import { encode } from "../../sdk/codec/codec.ts";
import type { ExecutionState } from "floe";
import type { ExecutionRecord, RunView } from "../../sdk/engine/model.ts";
import { Glyph, renderTimeline } from "../../sdk/cli/timeline.ts";
import type { ExecutionJson } from "../../sdk/http/views.ts";
import { segments } from "../../sdk/dashboard/model.ts";

type Step = readonly [state: ExecutionState, at: number, attempt?: number];

/** A record whose history is `steps`; its state, attempt and timestamps follow from them. */
function record(
  id: string,
  taskName: string,
  steps: readonly Step[],
  parentId?: string,
  args: unknown[] = [],
  refs: string[] = [],
): ExecutionRecord & { refs: string[] } {
  const history = steps.map(([state, at, attempt = 1]) => ({ state, at, attempt }));
  const last = history[history.length - 1];
  const first = history[0];
  if (last === undefined || first === undefined) throw new Error("a record needs at least one step");
  const terminal = ["completed", "failed", "cancelled"].includes(last.state);
  return {
    id,
    runId: "root",
    ...(parentId === undefined ? {} : { parentId }),
    taskName,
    // Encoded as floe encodes arguments, so the labels read what the engine stores.
    args: { inline: encode(args, "args", { idOf: () => undefined, revive: (id) => id }).text },
    refs,
    state: last.state,
    attempt: last.attempt,
    generation: 1,
    pending: 0,
    guarded: false,
    waitMode: "all",
    createdAt: first.at,
    ...(terminal ? { finishedAt: last.at } : {}),
    history,
  };
}

/** A run of the records; each record's `refs` become argument edges into it. */
function runOf(...executions: (ExecutionRecord & { refs: string[] })[]): RunView {
  const root = executions.find((e) => e.id === "root");
  if (root === undefined) throw new Error("a run needs a root");
  const edges = executions.flatMap((e) =>
    e.refs.map((upstreamId) => ({
      upstreamId,
      downstreamId: e.id,
      runId: "root",
      kind: "argument" as const,
      waits: true,
      generation: 1,
      released: true,
      createdAt: e.createdAt,
    })),
  );
  return { id: "root", root, executions, edges };
}

/** The label, bar and tail of the row whose label starts with `name` (after indentation). */
function row(timeline: string, name: string): { label: string; bar: string; tail: string } {
  const line = timeline.split("\n").find((l) => l.includes("│") && l.trimStart().startsWith(name));
  if (line === undefined) throw new Error(`no row for ${name} in\n${timeline}`);
  const [label = "", bar = "", tail = ""] = line.split("│");
  return { label, bar, tail };
}

const running = (bar: string, column: number) => bar[column] === Glyph.Running;

// process_order over 1000..1120 ms: two 100 ms loads in parallel, create_order waiting for them.
const processOrder = runOf(
  record("root", "process_order", [["queued", 1000], ["running", 1000], ["completed", 1010]], undefined, ["u1", "p1"]),
  record("user", "load_user", [["queued", 1005], ["running", 1010], ["completed", 1110]], "root", ["u1"]),
  record("product", "load_product", [["queued", 1005], ["running", 1010], ["completed", 1110]], "root", ["p1"]),
  record("order", "create_order", [["waiting", 1005], ["queued", 1110], ["running", 1112], ["completed", 1120]], "root", [], ["user", "product"]),
);

describe("renderTimeline", () => {
  it("has a row for every execution, parent first and children indented under it in creation order", () => {
    const timeline = renderTimeline(processOrder);
    const rows = timeline.split("\n").filter((l) => l.includes("│"));
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r.split("│")[0]?.trimEnd())).toEqual([
      'process_order("u1", "p1")',
      '  load_user("u1")',
      '  load_product("p1")',
      "  create_order()",
    ]);
  });

  it("orders by creation under each parent, whatever the order of run.executions", () => {
    // create_order shares load_product's millisecond and goes after the loads it references.
    const run = runOf(
      record("order", "create_order", [["waiting", 5], ["queued", 20], ["running", 20], ["completed", 30]], "root", [], ["user", "product"]),
      record("grandchild", "audit", [["queued", 6], ["running", 6], ["completed", 8]], "product"),
      record("product", "load_product", [["queued", 5], ["running", 5], ["completed", 20]], "root"),
      record("user", "load_user", [["queued", 4], ["running", 4], ["completed", 20]], "root"),
      record("root", "process_order", [["queued", 0], ["running", 0], ["completed", 5]]),
    );
    const labels = renderTimeline(run)
      .split("\n")
      .filter((l) => l.includes("│"))
      .map((l) => l.split("│")[0]?.trimEnd());
    expect(labels).toEqual(["process_order()", "  load_user()", "  load_product()", "    audit()", "  create_order()"]);
  });

  it("draws each bar exactly `width` characters wide across the run's span", () => {
    for (const width of [10, 60, 97]) {
      const timeline = renderTimeline(processOrder, width);
      for (const name of ["process_order", "load_user", "load_product", "create_order"]) {
        expect(row(timeline, name).bar).toHaveLength(width);
      }
    }
  });

  it("draws parallel executions as overlapping running bars", () => {
    const timeline = renderTimeline(processOrder, 60);
    const user = row(timeline, "load_user").bar;
    const product = row(timeline, "load_product").bar;
    const both = [...user].filter((_, c) => running(user, c) && running(product, c)).length;
    // 100 ms of 120 ms, at 2 ms a column.
    expect(both).toBeGreaterThanOrEqual(48);
    expect(user).toBe(product);
  });

  it("draws waiting and queued time with · and running time with █", () => {
    const run = runOf(record("root", "job", [["queued", 0], ["running", 50], ["completed", 100]]));
    expect(row(renderTimeline(run, 10), "job").bar).toBe("·····█████");

    const order = row(renderTimeline(processOrder, 60), "create_order").bar;
    // Created at 5 ms, waiting until 110 ms, running 112 to 120 ms.
    expect(order.slice(3, 54)).toBe(Glyph.Waiting.repeat(51));
    expect(order.slice(56)).toBe(Glyph.Running.repeat(4));
    expect(order.slice(0, 2)).toBe("  ");
  });

  it("draws a sleep with z, names it in the legend, and the dashboard makes it a sleeping segment", () => {
    const run = runOf(record("root", "nap", [["queued", 0], ["running", 0], ["sleeping", 20], ["running", 80], ["completed", 100]]));
    const timeline = renderTimeline(run, 10);
    expect(row(timeline, "nap").bar).toBe("██zzzzzz██");
    expect(timeline.split("\n").at(-1)).toContain(`${Glyph.Sleeping} sleeping`);
    expect(renderTimeline(processOrder).split("\n").at(-1)).not.toContain("sleeping");
    const kinds = segments(run.root as unknown as ExecutionJson, 100).map((x) => `${x.kind}${x.outcome === undefined ? "" : `:${x.outcome}`}`);
    expect(kinds).toEqual(["queued", "running:sleeping", "sleeping", "running:completed"]);
  });

  it("shows each attempt of a retried execution as its own running segment", () => {
    const run = runOf(
      record("root", "charge_card", [
        ["queued", 0, 1],
        ["running", 0, 1],
        ["queued", 20, 2],
        ["running", 50, 2],
        ["queued", 70, 3],
        ["running", 90, 3],
        ["completed", 100, 3],
      ]),
    );
    const { bar, tail } = row(renderTimeline(run, 10), "charge_card");
    expect(bar).toBe("██···██··█");
    expect(tail).toContain("in 3 attempts");
    expect(tail).toContain("ran 50 ms");
  });

  it("ends each row with the state and the execution's duration", () => {
    const timeline = renderTimeline(processOrder);
    expect(row(timeline, "load_user").tail).toMatch(/^ completed\s+105 ms, ran 100 ms$/);
    expect(row(timeline, "create_order").tail).toMatch(/^ completed\s+115 ms, ran 8 ms$/);
  });

  it("gives the wall time beside the tasks' summed running time in the footer", () => {
    const footer = renderTimeline(processOrder).split("\n").slice(-3);
    expect(footer[0]).toMatch(/^wall time\s+120 ms\s+first creation to last finish$/);
    // 100 + 100 + 8 ms of tasks; the root workflow is not counted.
    expect(footer[1]).toMatch(/^task time\s+208 ms\s+running time summed over 3 tasks, root excluded: 1\.73× the wall time$/);
    expect(footer[2]).toContain(Glyph.Running);
    expect(footer[2]).toContain(Glyph.Waiting);
  });

  it("keeps a running attempt shorter than a column visible", () => {
    const run = runOf(
      record("root", "parent", [["queued", 0], ["running", 0], ["completed", 1000]]),
      record("quick", "quick", [["queued", 500], ["running", 500], ["completed", 501]], "root"),
    );
    const bar = row(renderTimeline(run, 10), "quick").bar;
    expect(bar.trim()).toBe(Glyph.Running);
    expect(bar.indexOf(Glyph.Running)).toBe(5);
  });

  it("draws unfinished executions up to `now`", () => {
    const run = runOf(
      record("root", "parent", [["queued", 0], ["running", 0]]),
      record("child", "child", [["queued", 0], ["running", 50], ["completed", 100]], "root"),
    );
    const timeline = renderTimeline(run, 10, { now: 200 });
    expect(row(timeline, "parent").bar).toBe(Glyph.Running.repeat(10));
    expect(row(timeline, "child").bar).toBe("··███     ");
    expect(row(timeline, "parent").tail).toContain("running…");
    expect(timeline).toContain("first creation to now");
  });

  it("uses a custom label, and refuses a bad width", () => {
    const timeline = renderTimeline(processOrder, 20, { label: (r) => r.id.toUpperCase() });
    expect(row(timeline, "USER").label.trimEnd()).toBe("  USER");
    expect(() => renderTimeline(processOrder, 0)).toThrow(RangeError);
    expect(() => renderTimeline(processOrder, 2.5)).toThrow(RangeError);
  });
});

describe("a compacted history", () => {
  // A chain's parent over 0..100 ms: queued, first start, 91 transitions folded from 10 to
  // 70 ms, then its last suspension, re-run and completion.
  const folded = (): ExecutionRecord & { refs: string[] } => {
    const parent = record("root", "chain", [["queued", 0], ["running", 0], ["suspended", 10], ["suspended", 70], ["queued", 80], ["running", 80], ["completed", 100]]);
    parent.history[2] = { state: "suspended", at: 10, attempt: 1, folded: 91 };
    return parent;
  };

  it("draws the folded stretch as one ░ segment and counts it in the row and the legend", () => {
    const timeline = renderTimeline(runOf(folded()), 10);
    const { bar, tail } = row(timeline, "chain");
    expect(bar).toBe(`█${Glyph.Folded.repeat(6)}·██`);
    expect(tail).toContain("ran 30 ms, 91 transitions folded");
    expect(timeline).toContain(`${Glyph.Folded} re-runs folded into a count`);
    expect(renderTimeline(processOrder)).not.toContain(Glyph.Folded);
  });

  it("gives the dashboard one folded segment with its count, between the first run and the last suspension", () => {
    const parent = folded();
    const json = { ...parent, task: parent.taskName, args: [] } as unknown as ExecutionJson;
    expect(segments(json, 100).map((s) => [s.kind, s.from, s.to, s.folded ?? s.outcome])).toEqual([
      ["queued", 0, 0, undefined],
      ["running", 0, 10, "suspended"],
      ["folded", 10, 70, 91],
      ["suspended", 70, 80, undefined],
      ["queued", 80, 80, undefined],
      ["running", 80, 100, "completed"],
    ]);
  });
});
