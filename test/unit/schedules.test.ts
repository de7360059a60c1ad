/**
 * Schedules on the embedded engine: the `schedule` option is checked when the workflow is
 * defined, and the in-process runner starts one run per tick on a clock the test moves.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, State, task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { handleRequest } from "../../sdk/http/routes.ts";
import { ScheduleRunner, startTick } from "../../sdk/schedules/runner.ts";
import type { Tick } from "../../sdk/schedules/spec.ts";
import { thrown } from "../support/thrown.ts";
import { ManualClock } from "../support/manual-clock.ts";

const seen: string[] = [];
const everyQuarter = workflow("sch_every_quarter", { schedule: { every: "15 minutes" } }, async (tick: Tick) => {
  seen.push(tick.scheduledAt.toISOString());
  return tick.scheduledAt.getTime();
});
const nightly = workflow("sch_nightly", { schedule: { cron: "0 3 * * *", timezone: "Europe/Paris" } }, async (tick: Tick) => tick.scheduledAt);

const start = Date.parse("2026-03-01T00:05:00Z");
const engines: EmbeddedEngine[] = [];
const runners: ScheduleRunner[] = [];
afterEach(async () => {
  seen.length = 0;
  for (const r of runners.splice(0)) r.stop();
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

function setUp(): { engine: EmbeddedEngine; clock: ManualClock; runner: ScheduleRunner; errors: unknown[] } {
  const clock = new ManualClock(start);
  const engine = createEmbeddedRuntime({ clock });
  engines.push(engine);
  const errors: unknown[] = [];
  const runner = new ScheduleRunner(engine, clock, [everyQuarter.definition, nightly.definition], (_, e) => errors.push(e));
  runners.push(runner);
  return { engine, clock, runner, errors };
}

async function runsOf(engine: EmbeddedEngine, name: string): Promise<{ id: string; state: string }[]> {
  for (let i = 0; i < 200; i += 1) await new Promise((resolve) => setImmediate(resolve));
  return (await engine.listRuns({ taskName: name })).map((r) => ({ id: r.id, state: r.state }));
}

describe("the schedule option", () => {
  const bad: [string, unknown, RegExp][] = [
    ["a minute out of range", { cron: "61 * * * *" }, /minute field '61' is out of range 0–59/],
    ["a month out of range", { cron: "0 3 * 13 *" }, /month field '13' is out of range 1–12/],
    ["a word in the hour", { cron: "0 three * * *" }, /hour field 'three' is not valid; use a number 0–23/],
    ["six fields", { cron: "0 0 3 * * *" }, /has 6 fields; use 5/],
    ["both day fields", { cron: "0 3 1 * 1" }, /set one of them to \*/],
    ["an unknown timezone", { cron: "0 3 * * *", timezone: "Europe/Atlantis" }, /unknown timezone "Europe\/Atlantis"; use an IANA name/],
    ["seconds", { every: "30 seconds" }, /every must be "N minutes", "N hours" or "N days"/],
    ["zero minutes", { every: "0 minutes" }, /with N at least 1, got "0 minutes"/],
    ["both forms", { cron: "* * * * *", every: "1 hour" }, /expected \{ cron, timezone \} or \{ every \}/],
  ];
  it.each(bad)("refuses %s, naming the fix, and defines nothing", (_, schedule, message) => {
    const name = `sch_bad_${Math.random().toString(36).slice(2, 8)}`;
    const error = thrown(() => workflow(name, { schedule } as never, async () => 1));
    expect(error).toMatchObject({ code: ErrorCode.InvalidOption, message: expect.stringMatching(message) });
    expect(() => workflow(name, async () => 1)).not.toThrow();
  });

  it("is for workflows only", () => {
    expect(thrown(() => task("sch_task", { schedule: { every: "1 hour" } }, async () => 1))).toMatchObject({
      code: ErrorCode.InvalidOption,
      message: expect.stringContaining("only workflows run on a schedule"),
    });
  });

  it("accepts singular and plural rates", () => {
    expect(workflow("sch_hourly", { schedule: { every: "1 hour" } }, async () => 1).definition.options.schedule).toEqual({
      type: "rate",
      every: "1 hour",
      everyMs: 3_600_000,
    });
  });
});

describe("the in-process schedule runner", () => {
  it("lists each schedule with its next tick, in its timezone", () => {
    const { runner } = setUp();
    expect(runner.list()).toEqual([
      { workflow: "sch_every_quarter", schedule: "every 15 minutes", paused: false, next: new Date("2026-03-01T00:15:00Z") },
      // 03:00 in Paris is 02:00 UTC in winter.
      { workflow: "sch_nightly", schedule: "cron 0 3 * * * (Europe/Paris)", paused: false, next: new Date("2026-03-01T02:00:00Z") },
    ]);
  });

  it("starts one run per tick, which receives the tick's time", async () => {
    const { engine, clock } = setUp();
    clock.advanceTo(Date.parse("2026-03-01T00:46:00Z"));
    const runs = await runsOf(engine, "sch_every_quarter");
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.state === State.Completed)).toBe(true);
    expect(seen.sort()).toEqual(["2026-03-01T00:15:00.000Z", "2026-03-01T00:30:00.000Z", "2026-03-01T00:45:00.000Z"]);
  });

  it("starts nothing for a tick fired a second time", async () => {
    const { engine, clock } = setUp();
    clock.advanceTo(Date.parse("2026-03-01T00:16:00Z"));
    const tick = new Date("2026-03-01T00:15:00Z");
    const again = await startTick(engine, everyQuarter.definition, tick);
    const racing = await Promise.all([startTick(engine, everyQuarter.definition, tick), startTick(engine, everyQuarter.definition, tick)]);
    const runs = await runsOf(engine, "sch_every_quarter");
    expect(runs).toHaveLength(1);
    expect([again.id, ...racing.map((e) => e.id)]).toEqual([runs[0]!.id, runs[0]!.id, runs[0]!.id]);
    expect(seen).toEqual(["2026-03-01T00:15:00.000Z"]);
  });

  it("fires nothing while paused, and resumes from the next tick", async () => {
    const { engine, clock, runner } = setUp();
    expect(runner.pause("sch_every_quarter")).toMatchObject({ paused: true, next: undefined });
    clock.advanceTo(Date.parse("2026-03-01T00:50:00Z"));
    expect(await runsOf(engine, "sch_every_quarter")).toEqual([]);
    expect(runner.resume("sch_every_quarter")).toMatchObject({ paused: false, next: new Date("2026-03-01T01:00:00Z") });
    clock.advanceTo(Date.parse("2026-03-01T01:01:00Z"));
    expect(await runsOf(engine, "sch_every_quarter")).toHaveLength(1);
    expect(seen).toEqual(["2026-03-01T01:00:00.000Z"]);
  });

  it("refuses to pause a workflow that has no schedule, naming the scheduled ones", () => {
    const { runner } = setUp();
    expect(thrown(() => runner.pause("sch_nope"))).toMatchObject({
      code: ErrorCode.UnknownTask,
      message: 'no scheduled workflow is named "sch_nope"; the scheduled workflows are: sch_every_quarter, sch_nightly',
    });
  });
});

describe("the schedule routes", () => {
  const request = (method: string, path: string) => ({ method, path, query: {}, headers: {}, body: undefined, caller: "local" });

  it("list the schedules, and pause and resume one", async () => {
    const { engine, runner } = setUp();
    const listed = await handleRequest(engine, request("GET", "/schedules"), { schedules: runner });
    expect(listed).toEqual({
      status: 200,
      body: {
        schedules: [
          { workflow: "sch_every_quarter", schedule: "every 15 minutes", paused: false, next: "2026-03-01T00:15:00.000Z" },
          { workflow: "sch_nightly", schedule: "cron 0 3 * * * (Europe/Paris)", paused: false, next: "2026-03-01T02:00:00.000Z" },
        ],
      },
    });
    expect(await handleRequest(engine, request("POST", "/schedules/sch_nightly/pause"), { schedules: runner })).toEqual({
      status: 200,
      body: { workflow: "sch_nightly", schedule: "cron 0 3 * * * (Europe/Paris)", paused: true, next: null },
    });
    expect(runner.list()[1]).toMatchObject({ paused: true });
    expect(await handleRequest(engine, request("POST", "/schedules/sch_nightly/resume"), { schedules: runner })).toMatchObject({
      status: 200,
      body: { paused: false, next: "2026-03-01T02:00:00.000Z" },
    });
  });

  it("answer 404 for a workflow without a schedule, and when the API runs none", async () => {
    const { engine, runner } = setUp();
    expect(await handleRequest(engine, request("POST", "/schedules/sch_nope/pause"), { schedules: runner })).toMatchObject({
      status: 404,
      body: { error: { code: ErrorCode.UnknownTask, message: expect.stringContaining('no scheduled workflow is named "sch_nope"') } },
    });
    expect(await handleRequest(engine, request("GET", "/schedules"))).toMatchObject({
      status: 404,
      body: { error: { message: expect.stringContaining("this API runs no schedules") } },
    });
  });

  it("keep a schedule paused when the module is loaded again", () => {
    const { runner } = setUp();
    runner.pause("sch_nightly");
    const reloaded = runner.replace([everyQuarter.definition, nightly.definition]);
    runners.push(reloaded);
    expect(reloaded.list().map((v) => v.paused)).toEqual([false, true]);
  });
});
