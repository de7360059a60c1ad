/**
 * The schedule routes on AWS: the workflows' EventBridge Scheduler schedules (one each,
 * made by the construct, `infra/schedules.ts`) read and paused by the API function. A
 * pause or resume reads the schedule and writes it back whole with the new `State`, since
 * `UpdateSchedule` replaces every field: one left out would be reset.
 */
import { GetScheduleCommand, UpdateScheduleCommand, type GetScheduleCommandOutput, type SchedulerClient } from "@aws-sdk/client-scheduler";
import type { TaskDefinition } from "../define/registry.ts";
import { ErrorCode, FloeError } from "../errors.ts";
import type { ScheduleControl } from "./routes.ts";
import type { ScheduleView } from "./runner.ts";
import { describeSchedule, nextTick } from "./spec.ts";

/** What {@link SchedulerScheduleControl} needs. */
export interface SchedulerControlOptions {
  readonly client: SchedulerClient;
  /** Each scheduled workflow's schedule name (`FLOE_WORKFLOW_SCHEDULES`). */
  readonly schedules: Readonly<Record<string, string>>;
  /** The schedules' group. @default "default" */
  readonly groupName?: string;
  /** Finds a workflow's definition, for its schedule as written and its next tick. */
  readonly lookup: (workflow: string) => TaskDefinition | undefined;
  /** The time the next tick is counted from. @default Date.now */
  readonly now?: () => number;
}

/**
 * Reads `FLOE_WORKFLOW_SCHEDULES`.
 * @throws Error naming the variable when it is not a JSON object of names
 */
export function parseWorkflowSchedules(value: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new Error(`FLOE_WORKFLOW_SCHEDULES must be a JSON object of schedule names by workflow, got ${value.slice(0, 120)} (the Orchestrator construct sets it)`);
  }
  return parsed as Record<string, string>;
}

/** A {@link ScheduleControl} over EventBridge Scheduler. */
export class SchedulerScheduleControl implements ScheduleControl {
  readonly #o: SchedulerControlOptions;

  /** @param options - the client and the schedules' names */
  constructor(options: SchedulerControlOptions) {
    this.#o = options;
  }

  async list(): Promise<ScheduleView[]> {
    const views = await Promise.all(Object.keys(this.#o.schedules).map(async (workflow) => this.#view(workflow, await this.#get(workflow))));
    return views.sort((a, b) => a.workflow.localeCompare(b.workflow));
  }

  pause(workflow: string): Promise<ScheduleView> {
    return this.#set(workflow, "DISABLED");
  }

  resume(workflow: string): Promise<ScheduleView> {
    return this.#set(workflow, "ENABLED");
  }

  async #set(workflow: string, state: "ENABLED" | "DISABLED"): Promise<ScheduleView> {
    const current = await this.#get(workflow);
    if (current.State === state) return this.#view(workflow, current);
    await this.#o.client.send(
      new UpdateScheduleCommand({
        Name: current.Name ?? this.#name(workflow),
        GroupName: current.GroupName,
        ScheduleExpression: current.ScheduleExpression,
        ScheduleExpressionTimezone: current.ScheduleExpressionTimezone,
        StartDate: current.StartDate,
        EndDate: current.EndDate,
        Description: current.Description,
        KmsKeyArn: current.KmsKeyArn,
        FlexibleTimeWindow: current.FlexibleTimeWindow,
        ActionAfterCompletion: current.ActionAfterCompletion,
        Target: current.Target,
        State: state,
      }),
    );
    return this.#view(workflow, { ...current, State: state });
  }

  #name(workflow: string): string {
    const name = this.#o.schedules[workflow];
    if (name !== undefined) return name;
    const known = Object.keys(this.#o.schedules).sort().join(", ") || "none";
    throw new FloeError(ErrorCode.UnknownTask, `no scheduled workflow is named "${workflow}"; the scheduled workflows are: ${known}`);
  }

  #get(workflow: string): Promise<GetScheduleCommandOutput> {
    return this.#o.client.send(new GetScheduleCommand({ Name: this.#name(workflow), GroupName: this.#o.groupName ?? "default" }));
  }

  #view(workflow: string, schedule: GetScheduleCommandOutput): ScheduleView {
    const spec = this.#o.lookup(workflow)?.options.schedule;
    const paused = schedule.State === "DISABLED";
    return {
      workflow,
      schedule: spec === undefined ? (schedule.ScheduleExpression ?? "") : describeSchedule(spec),
      paused,
      next: paused || spec === undefined ? undefined : nextTick(spec, (this.#o.now ?? Date.now)()),
    };
  }
}
