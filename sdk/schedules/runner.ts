/**
 * Schedules run in process (the embedded engine, `floe dev`): a timer per scheduled
 * workflow on the engine's clock, and the start of a tick's run, shared with the AWS tick
 * handler.
 */
import type { Clock } from "../engine/ports.ts";
import { ErrorCode, FloeError } from "../errors.ts";
import type { TaskDefinition } from "../define/registry.ts";
import type { Execution } from "../runtime/execution.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { describeSchedule, nextTick, type ScheduleSpec, type Tick } from "./spec.ts";

/** The caller scheduled runs are keyed under: no HTTP caller can take it (theirs are `iam:…`, `jwt:…`, `local`, `anonymous`). */
const scheduleCaller = "schedule";
/** Node's longest timer; a later tick is reached in hops. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Starts the run of one tick. Its id derives from the workflow and the tick (a keyed start
 * whose key is the tick time), so a tick fired twice, or by two processes, starts one run.
 *
 * @param runtime - where the run starts
 * @param definition - a scheduled workflow
 * @param scheduledAt - the tick's due time
 */
export function startTick(runtime: Runtime, definition: TaskDefinition, scheduledAt: Date): Promise<Execution<unknown>> {
  const tick: Tick = { scheduledAt };
  return runtime.submitKeyed(definition, [tick], { key: scheduledAt.toISOString(), caller: scheduleCaller });
}

/** A schedule as listings show it. */
export interface ScheduleView {
  readonly workflow: string;
  readonly schedule: string;
  readonly paused: boolean;
  /** The next tick, `undefined` while paused. */
  readonly next: Date | undefined;
}

interface Entry {
  readonly definition: TaskDefinition;
  readonly spec: ScheduleSpec;
  paused: boolean;
  next: Date | undefined;
  cancel: (() => void) | undefined;
}

/** Fires the ticks of scheduled workflows in this process; see the file comment. */
export class ScheduleRunner {
  readonly #runtime: Runtime;
  readonly #clock: Clock;
  readonly #onError: (workflow: string, error: unknown) => void;
  readonly #entries = new Map<string, Entry>();
  #stopped = false;

  /**
   * @param runtime - where runs start
   * @param clock - the engine's clock, which tests move by hand
   * @param definitions - the module's definitions: those with a schedule are run
   * @param onError - told of a tick whose start failed (the next tick is still armed)
   */
  constructor(runtime: Runtime, clock: Clock, definitions: readonly TaskDefinition[], onError: (workflow: string, error: unknown) => void) {
    this.#runtime = runtime;
    this.#clock = clock;
    this.#onError = onError;
    for (const definition of definitions) {
      const spec = definition.options.schedule;
      if (spec !== undefined) this.#entries.set(definition.name, { definition, spec, paused: false, next: undefined, cancel: undefined });
    }
    for (const entry of this.#entries.values()) this.#arm(entry);
  }

  /** Every schedule, by workflow name. */
  list(): ScheduleView[] {
    return [...this.#entries.values()]
      .map((e) => ({ workflow: e.definition.name, schedule: describeSchedule(e.spec), paused: e.paused, next: e.paused ? undefined : e.next }))
      .sort((a, b) => a.workflow.localeCompare(b.workflow));
  }

  /**
   * Stops a schedule's ticks until {@link resume}; ticks due meanwhile are skipped, not caught up.
   * @throws FloeError `FLOE_UNKNOWN_TASK` when no scheduled workflow has that name
   */
  pause(workflow: string): ScheduleView {
    const entry = this.#entry(workflow);
    entry.paused = true;
    entry.cancel?.();
    entry.cancel = undefined;
    return this.#view(entry);
  }

  /**
   * Fires a paused schedule's ticks again, from the next one after now.
   * @throws FloeError `FLOE_UNKNOWN_TASK` when no scheduled workflow has that name
   */
  resume(workflow: string): ScheduleView {
    const entry = this.#entry(workflow);
    if (entry.paused) {
      entry.paused = false;
      this.#arm(entry);
    }
    return this.#view(entry);
  }

  /**
   * Stops this runner and returns one for `definitions` (a module loaded again), with the
   * same schedules paused.
   */
  replace(definitions: readonly TaskDefinition[]): ScheduleRunner {
    this.stop();
    const next = new ScheduleRunner(this.#runtime, this.#clock, definitions, this.#onError);
    for (const [name, entry] of this.#entries) if (entry.paused && next.#entries.has(name)) next.pause(name);
    return next;
  }

  /** Cancels every timer; nothing fires afterwards. */
  stop(): void {
    this.#stopped = true;
    for (const entry of this.#entries.values()) entry.cancel?.();
  }

  #view(entry: Entry): ScheduleView {
    return this.list().find((v) => v.workflow === entry.definition.name)!;
  }

  #entry(workflow: string): Entry {
    const entry = this.#entries.get(workflow);
    if (entry !== undefined) return entry;
    const known = [...this.#entries.keys()].join(", ") || "none";
    throw new FloeError(ErrorCode.UnknownTask, `no scheduled workflow is named "${workflow}"; the scheduled workflows are: ${known}`);
  }

  #arm(entry: Entry): void {
    if (this.#stopped || entry.paused) return;
    const next = entry.next !== undefined && entry.next.getTime() > this.#clock.now() ? entry.next : nextTick(entry.spec, this.#clock.now());
    entry.next = next;
    const wait = Math.min(next.getTime() - this.#clock.now(), maxTimerMs);
    entry.cancel = this.#clock.schedule(Math.max(wait, 0), () => {
      entry.cancel = undefined;
      if (this.#stopped || entry.paused) return;
      if (this.#clock.now() >= next.getTime()) {
        entry.next = undefined;
        startTick(this.#runtime, entry.definition, next).catch((error: unknown) => this.#onError(entry.definition.name, error));
        entry.next = nextTick(entry.spec, next.getTime());
      }
      this.#arm(entry);
    });
  }
}
