/** Every task and workflow defined in this process, by name. */
import { ErrorCode, FloeError } from "../errors.ts";
import type { NormalizedOptions } from "./options.ts";

/** Whether a definition is a task or a workflow (an entry point of a run). */
export const Kind = { Task: "task", Workflow: "workflow" } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** A task or workflow as floe runs it. */
export interface TaskDefinition {
  readonly name: string;
  readonly kind: Kind;
  readonly fn: (...args: any[]) => unknown;
  readonly options: NormalizedOptions;
}

const definitions = new Map<string, TaskDefinition>();
let redefinable = false;
const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Adds a definition.
 * @throws FloeError `FLOE_DUPLICATE_TASK` when the name is taken, `FLOE_INVALID_OPTION` for a bad name
 */
export function define(definition: TaskDefinition): void {
  const { name, kind } = definition;
  if (typeof name !== "string" || !namePattern.test(name)) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `invalid ${kind} name ${JSON.stringify(name)}: use 1 to 64 letters, digits, "_" or "-", starting with a letter ` +
        "(it names a queue and a Lambda function in AWS)",
    );
  }
  const existing = definitions.get(name);
  if (existing !== undefined && !redefinable) {
    throw new FloeError(
      ErrorCode.DuplicateTask,
      `a ${existing.kind} named "${name}" is already defined; task and workflow names must be unique, so rename one of them`,
    );
  }
  definitions.set(name, definition);
}

/**
 * Runs `load` with redefinition allowed: a definition whose name is taken replaces the
 * earlier one instead of throwing. For `floe dev`, which imports a changed module again:
 * attempts started later run the new code, attempts already running keep the old.
 *
 * @param load - imports the module again
 * @returns what `load` returns
 */
export async function redefining<T>(load: () => Promise<T>): Promise<T> {
  redefinable = true;
  try {
    return await load();
  } finally {
    redefinable = false;
  }
}

/**
 * Finds a definition by name.
 * @throws FloeError `FLOE_UNKNOWN_TASK` naming the known tasks
 */
export function lookup(name: string): TaskDefinition {
  const found = definitions.get(name);
  if (found !== undefined) return found;
  const known = [...definitions.keys()].sort();
  throw new FloeError(
    ErrorCode.UnknownTask,
    `no task or workflow is named "${name}"; ` +
      (known.length === 0
        ? "none is defined yet: import the module that defines it first"
        : `the defined ones are ${known.map((k) => `"${k}"`).join(", ")} (is the module that defines it imported?)`),
  );
}

/** Every definition, for listing workflows and building infrastructure. */
export function definitionsList(): TaskDefinition[] {
  return [...definitions.values()];
}
