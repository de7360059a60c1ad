/**
 * The arguments of `.map()` (`Task.map`, `Engine.map`): iterables zipped into one argument
 * list per call, and fixed values marked with `unmapped()`. Apart from `task.ts` so that an
 * engine can map without importing the default engine.
 */
import { ErrorCode, FloeError, InvalidInputError } from "../errors.ts";
import { validateInput, type InputSpec } from "../define/input.ts";

/** A fixed argument of `.map()`, passed as is to every call. */
export interface Unmapped<T> {
  readonly unmapped: T;
}

/** The arguments of `.map()`: an iterable of each argument, or a fixed value in `unmapped()`. */
export type MapArgs<A extends unknown[]> = { [K in keyof A]: Iterable<A[K]> | Unmapped<A[K]> };

/**
 * Marks a `.map()` argument as fixed: every call receives it whole.
 * @example
 * resize.map(images, unmapped({ width: 200 }));
 */
export function unmapped<T>(value: T): Unmapped<T> {
  return { unmapped: value, [unmappedBrand]: true } as Unmapped<T>;
}

const unmappedBrand = Symbol("floe.unmapped");

/**
 * The rows of a `.map()` call: one argument list per call (see `Task.map`).
 * @param name - the task's name, for the errors
 * @param args - iterables to zip, and fixed values
 * @param input - the task's `input`: every row is validated before any is submitted
 * @throws FloeError `FLOE_INVALID_OPTION` with no iterable, or iterables of different lengths
 * @throws InvalidInputError `FLOE_INVALID_INPUT` for a row the schema refuses, naming it
 */
export function mapRows(name: string, args: readonly unknown[], input?: InputSpec): unknown[][] {
  type Column = { readonly items: unknown[] } | { readonly fixed: unknown };
  const columns = args.map((arg): Column => {
    if (typeof arg === "object" && arg !== null && unmappedBrand in arg) return { fixed: (arg as unknown as Unmapped<unknown>).unmapped };
    if (typeof arg === "object" && arg !== null && Symbol.iterator in arg) return { items: [...(arg as Iterable<unknown>)] };
    return { fixed: arg };
  });
  const lengths = columns.flatMap((c, i) => ("items" in c ? [[i, c.items.length] as const] : []));
  const [first] = lengths;
  if (first === undefined) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `"${name}".map() needs at least one iterable argument to map over; for a single call use submit()`,
    );
  }
  const mismatch = lengths.find(([, n]) => n !== first[1]);
  if (mismatch !== undefined) {
    throw new FloeError(
      ErrorCode.InvalidOption,
      `"${name}".map() arguments have different lengths: args[${first[0]}] has ${first[1]} items, ` +
        `args[${mismatch[0]}] has ${mismatch[1]}; give them the same length, or wrap fixed ones in unmapped()`,
    );
  }
  const rows = Array.from({ length: first[1] }, (_, row) => columns.map((c) => ("items" in c ? c.items[row] : c.fixed)));
  if (input !== undefined) rows.forEach((row, index) => validateRow(name, input, row, index));
  return rows;
}

function validateRow(name: string, input: InputSpec, row: unknown[], index: number): void {
  try {
    validateInput(name, input, row);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    throw new InvalidInputError(`${error.message} (in item ${index} of "${name}".map(); no item was submitted)`, error.issues);
  }
}
