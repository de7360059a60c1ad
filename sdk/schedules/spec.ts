/**
 * A workflow's `schedule` option: validated when the workflow is defined (a malformed cron
 * names its field, an unknown timezone and a bad rate are refused) and its tick times.
 */
import { Cron } from "croner";
import { ErrorCode, FloeError } from "../errors.ts";

/** When a scheduled workflow runs: a 5-field cron in a timezone, or a fixed rate. */
export type ScheduleOption =
  | {
      /** Minute, hour, day of month, month, day of week, as in crontab: `"0 3 * * *"`. */
      readonly cron: string;
      /**
       * The IANA timezone the cron is read in, such as `"Europe/Paris"`.
       * @default "UTC"
       */
      readonly timezone?: string;
    }
  | {
      /** `"N minutes"`, `"N hours"` or `"N days"`, at least one minute. */
      readonly every: string;
    };

/** A schedule after validation. */
export type ScheduleSpec =
  | { readonly type: "cron"; readonly cron: string; readonly timezone: string }
  | { readonly type: "rate"; readonly every: string; readonly everyMs: number };

/** What a scheduled workflow's function receives. */
export interface Tick {
  /** The time the tick was due, not the time it fired. */
  readonly scheduledAt: Date;
}

const fields = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day-of-week", min: 0, max: 7 },
] as const;
const units: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const ratePattern = /^\s*(\d+)\s+(minute|hour|day)s?\s*$/;

/**
 * Validates a workflow's `schedule` option.
 *
 * @param workflow - the workflow's name, for messages
 * @param option - what the user passed
 * @throws FloeError `FLOE_INVALID_OPTION` naming the field or value at fault and the fix
 */
export function parseSchedule(workflow: string, option: unknown): ScheduleSpec {
  const fail = (problem: string): never => {
    throw new FloeError(ErrorCode.InvalidOption, `invalid schedule for workflow "${workflow}": ${problem}`);
  };
  if (typeof option !== "object" || option === null) {
    return fail(`expected { cron, timezone } or { every }, got ${JSON.stringify(option)}`);
  }
  const keys = Object.keys(option).sort().join(",");
  if (keys === "every") return parseRate((option as { every: unknown }).every, fail);
  if (keys !== "cron" && keys !== "cron,timezone") {
    return fail(`expected { cron, timezone } or { every }, got the keys ${keys || "(none)"}`);
  }
  const { cron, timezone = "UTC" } = option as { cron: unknown; timezone?: unknown };
  if (typeof timezone !== "string" || !isTimezone(timezone)) {
    return fail(`unknown timezone ${JSON.stringify(timezone)}; use an IANA name such as "Europe/Paris" or "UTC"`);
  }
  if (typeof cron !== "string") return fail(`cron must be a string such as "0 3 * * *", got ${JSON.stringify(cron)}`);
  checkCron(cron, fail);
  return { type: "cron", cron: cron.trim().split(/\s+/).join(" "), timezone };
}

function parseRate(every: unknown, fail: (problem: string) => never): ScheduleSpec {
  const match = typeof every === "string" ? ratePattern.exec(every) : null;
  const count = match === null ? 0 : Number(match[1]);
  if (match === null || count < 1) {
    return fail(`every must be "N minutes", "N hours" or "N days" with N at least 1, got ${JSON.stringify(every)}`);
  }
  const unit = match[2]!;
  return { type: "rate", every: `${count} ${unit}${count === 1 ? "" : "s"}`, everyMs: count * units[unit]! };
}

function isTimezone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Checks each field alone, so the message names the one at fault. */
function checkCron(cron: string, fail: (problem: string) => never): void {
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== fields.length) {
    fail(`cron ${JSON.stringify(cron)} has ${parts.length} fields; use 5: minute hour day-of-month month day-of-week, such as "0 3 * * *"`);
  }
  parts.forEach((part, i) => {
    const field = fields[i]!;
    const alone = fields.map((_, j) => (j === i ? part : "*")).join(" ");
    try {
      new Cron(alone, { paused: true });
    } catch {
      const outOfRange = (part.match(/\d+/g) ?? []).map(Number).some((n) => n < field.min || n > field.max);
      fail(
        outOfRange
          ? `cron ${JSON.stringify(cron)}: the ${field.name} field '${part}' is out of range ${field.min}–${field.max}`
          : `cron ${JSON.stringify(cron)}: the ${field.name} field '${part}' is not valid; use a number ${field.min}–${field.max}, *, a list (1,2), a range (1-5) or a step (*/15)`,
      );
    }
  });
  // EventBridge Scheduler, which runs schedules on AWS, cannot restrict both day fields at once.
  if (parts[2] !== "*" && parts[4] !== "*") {
    fail(`cron ${JSON.stringify(cron)} restricts both day-of-month and day-of-week; set one of them to *`);
  }
}

/**
 * The first tick strictly after `afterMs`. Rates tick on multiples of their interval since
 * the epoch, so every process agrees on the ticks (and so on the runs' ids).
 *
 * @param spec - the validated schedule
 * @param afterMs - a time in milliseconds since the epoch
 */
export function nextTick(spec: ScheduleSpec, afterMs: number): Date {
  if (spec.type === "rate") return new Date((Math.floor(afterMs / spec.everyMs) + 1) * spec.everyMs);
  const next = new Cron(spec.cron, { paused: true, timezone: spec.timezone }).nextRun(new Date(afterMs));
  if (next === null) throw new Error(`cron "${spec.cron}" has no next run after ${new Date(afterMs).toISOString()}`);
  return next;
}

/** The schedule as people write it, for listings. */
export function describeSchedule(spec: ScheduleSpec): string {
  return spec.type === "rate" ? `every ${spec.every}` : `cron ${spec.cron} (${spec.timezone})`;
}
