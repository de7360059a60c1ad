/**
 * The filter criteria of an event source mapping: EventBridge-style patterns, of which an
 * event must match at least one. A pattern is an object whose leaves are lists of allowed
 * values; an allowed value is a literal (matched exactly) or a rule object. The rules
 * Lambda's filters take and floe's templates may use are implemented: `anything-but`,
 * `exists`, `prefix`, `suffix`, `equals-ignore-case` and `numeric`; any other is refused
 * when the filter is made, not silently ignored.
 */
import { ErrorCode, FloeError } from "../errors.ts";

/** A compiled filter: `true` for the events the mapping hands its function. */
export type EventFilter = (event: unknown) => boolean;

/**
 * Compiles the mapping's `FilterCriteria` (its `Filters[].Pattern` JSON strings); none matches everything.
 * @throws FloeError `FLOE_INVALID_OPTION` for a pattern that does not parse or uses an unknown rule
 */
export function compileFilter(criteria: { readonly Filters?: readonly { readonly Pattern?: string }[] } | undefined): EventFilter {
  const patterns = (criteria?.Filters ?? []).map((f) => parsePattern(f.Pattern ?? "{}"));
  if (patterns.length === 0) return () => true;
  return (event) => patterns.some((pattern) => matches(pattern, event));
}

function parsePattern(text: string): Record<string, unknown> {
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch (error) {
    throw new FloeError(ErrorCode.InvalidOption, `a filter pattern is not JSON (${text}): ${(error as Error).message}`);
  }
  if (typeof pattern !== "object" || pattern === null || Array.isArray(pattern)) {
    throw new FloeError(ErrorCode.InvalidOption, `a filter pattern must be a JSON object, not ${text}`);
  }
  check(pattern as Record<string, unknown>, text);
  return pattern as Record<string, unknown>;
}

const rules = new Set(["anything-but", "exists", "prefix", "suffix", "equals-ignore-case", "numeric"]);

function check(pattern: Record<string, unknown>, text: string): void {
  for (const value of Object.values(pattern)) {
    if (Array.isArray(value)) {
      for (const allowed of value) {
        if (typeof allowed !== "object" || allowed === null) continue;
        const unknown = Object.keys(allowed).filter((rule) => !rules.has(rule));
        if (unknown.length > 0) {
          throw new FloeError(ErrorCode.InvalidOption, `a filter pattern uses ${unknown.join(", ")}, which the local cloud does not implement (${text}); it implements ${[...rules].join(", ")}`);
        }
      }
    } else if (typeof value === "object" && value !== null) {
      check(value as Record<string, unknown>, text);
    } else {
      throw new FloeError(ErrorCode.InvalidOption, `a filter pattern's leaves must be lists of values, not ${JSON.stringify(value)} (${text})`);
    }
  }
}

/** Whether `event` matches `pattern`: every key of the pattern matches, at every level. */
function matches(pattern: Record<string, unknown>, event: unknown): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const present = typeof event === "object" && event !== null && Object.hasOwn(event, key);
    const actual = present ? (event as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(expected)) return matchesLeaf(expected, present, actual);
    return present && matches(expected as Record<string, unknown>, actual);
  });
}

/** A leaf: the event's value (or each of its values, for a list) is one of the allowed. */
function matchesLeaf(allowed: readonly unknown[], present: boolean, actual: unknown): boolean {
  const existence = allowed.find((a): a is { exists: boolean } => typeof a === "object" && a !== null && "exists" in a);
  if (existence !== undefined) return existence.exists === present;
  if (!present) return false;
  const values = Array.isArray(actual) ? actual : [actual];
  return values.some((value) => allowed.some((rule) => matchesValue(rule, value)));
}

function matchesValue(rule: unknown, value: unknown): boolean {
  if (typeof rule !== "object" || rule === null) return rule === value;
  const r = rule as Record<string, unknown>;
  if ("anything-but" in r) {
    const excluded = r["anything-but"];
    const list = Array.isArray(excluded) ? excluded : [excluded];
    if (list.some((e) => typeof e === "object" && e !== null)) return !list.some((e) => matchesValue(e, value));
    return !list.includes(value);
  }
  if (typeof r.prefix === "string") return typeof value === "string" && value.startsWith(r.prefix);
  if (typeof r.suffix === "string") return typeof value === "string" && value.endsWith(r.suffix);
  if (typeof r["equals-ignore-case"] === "string") {
    return typeof value === "string" && value.toLowerCase() === r["equals-ignore-case"].toLowerCase();
  }
  if (Array.isArray(r.numeric)) return typeof value === "number" && numeric(r.numeric as unknown[], value);
  return false;
}

/** `["<", 10, ">=", 2]`: every comparison holds. */
function numeric(comparisons: readonly unknown[], value: number): boolean {
  for (let i = 0; i + 1 < comparisons.length; i += 2) {
    const bound = Number(comparisons[i + 1]);
    const holds = { "<": value < bound, "<=": value <= bound, "=": value === bound, ">": value > bound, ">=": value >= bound }[String(comparisons[i])];
    if (holds !== true) return false;
  }
  return true;
}
