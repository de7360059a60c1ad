/**
 * How an Orchestrator's tasks are spread over nested stacks, so that it holds hundreds of
 * tasks while every stack stays under CloudFormation's 500 resources.
 *
 * A task adds 11 resources (its queue and dead-letter queue with their TLS-only policies,
 * the worker with its role, policy and log group, the two event source mappings and the
 * dead-letter alarm). Each task lives in one of {@link TASK_GROUPS} nested stacks, chosen by
 * a digest of its name alone: adding or removing a task never moves another between stacks,
 * which CloudFormation could not do with a named queue (the new stack would create the
 * queue before the old one deleted it), and which would lose the messages in flight.
 */
import { createHash } from "node:crypto";

/** The nested stacks tasks are spread over. Fixed for good: changing it would move tasks. */
export const TASK_GROUPS = 32;

/** The resources each task adds to its nested stack. */
export const RESOURCES_PER_TASK = 11;

/** The tasks one nested stack holds at most: 440 resources of CloudFormation's 500. */
export const TASKS_PER_GROUP = 40;

/**
 * The tasks and workflows one Orchestrator holds at most. Spread by digest over 32 groups,
 * 500 names fill a group with 16 on average; the chance that one of them exceeds 40 is about
 * one in a million. The parent stack holds the shared resources and one resource per
 * nested stack, about 75 in all.
 */
export const MAX_TASKS = 500;

/**
 * The group, from 0 to {@link TASK_GROUPS} − 1, of the task named `taskName`.
 *
 * @param taskName - the task's or workflow's name
 * @returns its group: the same for the same name, whatever the other tasks are
 */
export function taskGroupOf(taskName: string): number {
  return createHash("sha256").update(taskName).digest().readUInt32BE(0) % TASK_GROUPS;
}

/**
 * What keeps `taskNames` from fitting one Orchestrator: too many tasks, or (very unlikely
 * below {@link MAX_TASKS}) too many in one group.
 *
 * @param tasksModule - the module that defines them, named in the problems
 * @param taskNames - every task and workflow the tasks module defines
 * @returns the problems, each naming the limit, the count and the fix; none when they fit
 */
export function taskGroupProblems(tasksModule: string, taskNames: readonly string[]): string[] {
  const split = "split the tasks into two modules, each deployed by an Orchestrator of its own";
  if (taskNames.length > MAX_TASKS) {
    return [
      `tasksModule: ${tasksModule} defines ${taskNames.length} tasks and workflows, more than the ${MAX_TASKS} one Orchestrator holds ` +
        `(each adds ${RESOURCES_PER_TASK} resources, spread over ${TASK_GROUPS} nested stacks under CloudFormation's 500 each); ${split}`,
    ];
  }
  const groups = new Map<number, string[]>();
  for (const name of taskNames) groups.set(taskGroupOf(name), [...(groups.get(taskGroupOf(name)) ?? []), name]);
  return [...groups]
    .filter(([, names]) => names.length > TASKS_PER_GROUP)
    .map(
      ([group, names]) =>
        `tasksModule: the names of ${names.length} tasks fall in nested stack ${group} (by a digest of the name), which holds at most ` +
        `${TASKS_PER_GROUP}: rename one of ${names.map((n) => `"${n}"`).join(", ")}, or ${split}`,
    );
}
