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
/** While a module is imported again: the definitions its names had before, each replaceable once. */
let reloading: Map<string, TaskDefinition | undefined> | undefined;
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
  // A reload replaces an earlier load's definition; two in one load are a duplicate.
  if (existing !== undefined && (reloading === undefined || reloading.has(name))) {
    throw new FloeError(
      ErrorCode.DuplicateTask,
      `a ${existing.kind} named "${name}" is already defined; task and workflow names must be unique, so rename one of them`,
    );
  }
  reloading?.set(name, existing);
  definitions.set(name, definition);
}

/**
 * Runs `load` with redefinition allowed: a definition whose name was taken before `load`
 * replaces the earlier one instead of throwing, but a name defined twice during `load` is
 * still a duplicate. For `floe dev`, which imports a changed module again: attempts
 * started later run the new code, attempts already running keep the old. A `load` that
 * throws leaves every definition as it was before it.
 *
 * @param load - imports the module again
 * @returns what `load` returns, and the names it defined
 * @throws FloeError `FLOE_DUPLICATE_TASK` from `load` when it defines a name twice
 */
export async function redefining<T>(load: () => Promise<T>): Promise<{ value: T; defined: ReadonlySet<string> }> {
  const before = new Map<string, TaskDefinition | undefined>();
  reloading = before;
  try {
    return { value: await load(), defined: new Set(before.keys()) };
  } catch (error) {
    for (const [name, definition] of before) {
      if (definition === undefined) definitions.delete(name);
      else definitions.set(name, definition);
    }
    throw error;
  } finally {
    reloading = undefined;
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
