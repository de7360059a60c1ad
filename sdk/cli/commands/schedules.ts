/**
 * `floe schedules`: the scheduled workflows with their next ticks, read from a module or
 * from an API (a `floe dev` server, a deployed stack), and their pause and resume.
 */
import type { ApiAuth } from "../api-auth.ts";
import { httpApi, type ScheduleJson } from "../api-client.ts";
import { ExitCode } from "../cli-error.ts";
import { definitionsList } from "../../define/registry.ts";
import { describeSchedule, nextTick } from "../../schedules/spec.ts";
import { loadModule } from "../module-loader.ts";

/** Options of the `floe schedules` commands. */
export interface SchedulesOptions extends ApiAuth {
  readonly api: string;
  readonly json?: boolean;
}

/** Lists the schedules of `module` (none paused: pausing is the API's), or of the API without one. */
export async function listSchedulesCommand(module: string | undefined, options: SchedulesOptions): Promise<ExitCode> {
  let schedules: ScheduleJson[];
  if (module === undefined) {
    schedules = (await httpApi(options.api, options).schedules()).schedules;
  } else {
    await loadModule(module);
    const now = Date.now();
    schedules = definitionsList().flatMap((d) =>
      d.options.schedule === undefined
        ? []
        : [{ workflow: d.name, schedule: describeSchedule(d.options.schedule), paused: false, next: nextTick(d.options.schedule, now).toISOString() }],
    );
  }
  print(schedules, options.json === true);
  return ExitCode.Ok;
}

/** Pauses or resumes one workflow's schedule on the API. */
export async function pauseScheduleCommand(workflow: string, paused: boolean, options: SchedulesOptions): Promise<ExitCode> {
  print([await httpApi(options.api, options).pauseSchedule(workflow, paused)], options.json === true);
  return ExitCode.Ok;
}

function print(schedules: readonly ScheduleJson[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ schedules }, null, 2)}\n`);
    return;
  }
  if (schedules.length === 0) {
    process.stdout.write('no scheduled workflows (give one a schedule: workflow(name, { schedule: { cron: "0 3 * * *" } }, fn))\n');
    return;
  }
  const rows = [["WORKFLOW", "SCHEDULE", "NEXT"], ...schedules.map((s) => [s.workflow, s.schedule, s.paused ? "paused" : (s.next ?? "")])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(`${rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")}\n`);
}
