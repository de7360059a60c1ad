/**
 * Typed inputs: a task's `input` option, any Standard Schema (zod, valibot, arktype…), or a
 * list of them, one per parameter. Arguments are validated when they are submitted, before
 * anything is written, and again when an attempt starts, where the task receives the
 * schema's output (its defaults and transforms); what is stored, and what a child's id
 * derives from, is what the caller passed, so a re-run of the caller finds the same child.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ErrorCode, FloeError, InvalidInputError, type InputIssue } from "../errors.ts";

/**
 * What `input` accepts: a Standard Schema of the single argument, or a list of schemas, one
 * per argument (`[z.string(), z.number()]` for `(id, count)`).
 */
export type InputSchema = StandardSchemaV1 | readonly StandardSchemaV1[];

/** The parameters a task with `input: S` receives: the schemas' outputs. */
export type InputParameters<S extends InputSchema> = S extends StandardSchemaV1
  ? [StandardSchemaV1.InferOutput<S>]
  : { -readonly [K in keyof S]: S[K] extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S[K]> : never };

/** The arguments a caller passes to a task with `input: S`: the schemas' inputs. */
export type InputArguments<S extends InputSchema> = S extends StandardSchemaV1
  ? [StandardSchemaV1.InferInput<S>]
  : { -readonly [K in keyof S]: S[K] extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S[K]> : never };

/** The `input` option, checked: one schema per argument, and whether there is one argument. */
export interface InputSpec {
  readonly schemas: readonly StandardSchemaV1[];
  /** `input: schema` (one argument) rather than `input: [schemas]`: how a path is named. */
  readonly single: boolean;
}

const fix =
  "pass a Standard Schema (a zod, valibot or arktype schema, say) of the single argument, or a list of them, one per argument";

/**
 * Checks the `input` option.
 * @returns its spec, `undefined` when there is none
 * @throws FloeError `FLOE_INVALID_OPTION` for anything but a schema or a non-empty list of schemas
 */
export function inputSpec(name: string, input: unknown): InputSpec | undefined {
  if (input === undefined) return undefined;
  if (isStandardSchema(input)) return { schemas: [input], single: true };
  if (Array.isArray(input) && input.length > 0) {
    const bad = input.findIndex((schema) => !isStandardSchema(schema));
    if (bad === -1) return { schemas: input as StandardSchemaV1[], single: false };
    throw new FloeError(ErrorCode.InvalidOption, `invalid options for task "${name}": input[${bad}] is not a Standard Schema (it has no "~standard" property of version 1); ${fix}`);
  }
  throw new FloeError(ErrorCode.InvalidOption, `invalid options for task "${name}": input is not a Standard Schema (it has no "~standard" property of version 1); ${fix}`);
}

/** Whether `value` implements Standard Schema v1: arktype's types are functions, the others objects. */
function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props = (value as Partial<StandardSchemaV1>)["~standard"];
  return typeof props === "object" && props !== null && props.version === 1 && typeof props.validate === "function";
}

/**
 * Validates `args` against the task's schemas, synchronously.
 *
 * @param name - the task's name, for messages
 * @param spec - its `input`
 * @param args - what the caller passed
 * @returns the schemas' outputs, the arguments the task's code receives
 * @throws InvalidInputError `FLOE_INVALID_INPUT` naming each field's path and the schema's message
 * @throws FloeError `FLOE_INVALID_OPTION` for a schema that validates asynchronously
 */
export function validateInput(name: string, spec: InputSpec, args: readonly unknown[]): unknown[] {
  const { schemas, single } = spec;
  if (args.length > schemas.length) {
    const expected = single ? "one argument, the value its input schema describes" : `${schemas.length} arguments, one per schema of its input`;
    const issue = { path: [schemas.length], message: `${args.length} arguments were passed, and "${name}" takes ${expected}` };
    throw invalidInput(name, spec, [issue]);
  }
  const issues: InputIssue[] = [];
  const values = schemas.map((schema, index) => {
    const result = schema["~standard"].validate(args[index]);
    if (typeof (result as { then?: unknown }).then === "function") {
      // Refused, never awaited: a rejection must not surface as an unhandled one.
      (result as Promise<unknown>).then(undefined, () => undefined);
      throw new FloeError(
        ErrorCode.InvalidOption,
        `the input schema of "${name}"${single ? "" : ` (argument ${index})`} validates asynchronously (its validate returned a Promise), ` +
          "but floe validates at submit, which is synchronous and writes nothing when it refuses: use a schema without " +
          "asynchronous refinements or transforms, and check what needs I/O inside the task (throwing NonRetriableError)",
      );
    }
    const done = result as StandardSchemaV1.Result<unknown>;
    if (done.issues !== undefined) {
      for (const issue of done.issues) issues.push({ path: [index, ...(issue.path ?? []).map(keyOf)], message: issue.message });
      return undefined;
    }
    return done.value;
  });
  if (issues.length > 0) throw invalidInput(name, spec, issues);
  return values;
}

function keyOf(segment: PropertyKey | StandardSchemaV1.PathSegment): PropertyKey {
  return typeof segment === "object" ? segment.key : segment;
}

/**
 * A field's path as a message names it: `email`, `items[2].qty` for a single argument
 * (whose own path is "input"), `[1].email` for the second of several.
 */
export function fieldName(path: readonly PropertyKey[], single: boolean): string {
  const rest = single ? path.slice(1) : path;
  let text = "";
  for (const key of rest) {
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) text += text === "" ? key : `.${key}`;
    else text += `[${JSON.stringify(typeof key === "symbol" ? key.toString() : key)}]`;
  }
  return text === "" ? "input" : text;
}

function invalidInput(name: string, spec: InputSpec, issues: readonly InputIssue[]): InvalidInputError {
  const listed = issues.slice(0, 10).map((issue) => `${fieldName(issue.path, spec.single)}: ${issue.message}`);
  const more = issues.length > 10 ? `; and ${issues.length - 10} more` : "";
  return new InvalidInputError(`invalid input for "${name}": ${listed.join("; ")}${more}`, issues);
}
