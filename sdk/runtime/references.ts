/** Finding execution references inside argument values. */
import { isExecution } from "./execution.ts";

/** Adds the ids of every execution inside `value` (arrays, plain objects, maps, sets) to `out`. */
export function collectExecutionIds(value: unknown, out: Set<string>, seen = new Set<object>()): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (isExecution(value)) {
    out.add(value.id);
    return;
  }
  if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) collectExecutionIds(item, out, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      collectExecutionIds(k, out, seen);
      collectExecutionIds(v, out, seen);
    }
  } else if (isPlainObject(value)) {
    for (const item of Object.values(value)) collectExecutionIds(item, out, seen);
  }
}

/** True for `{}`-style objects (including null-prototype ones). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
