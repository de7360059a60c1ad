/** The `concurrency` and `rateLimit` options: their validation, and the keys they count an execution by. */
import { ErrorCode, FloeError } from "../errors.ts";
import type { LimitKeys } from "../engine/model.ts";

/** The most executions a concurrency limit lets run, and starts a rate limit admits a period. */
export const MAX_LIMIT = 1000;
/** The shortest rate-limit period: a second. */
export const MIN_PERIOD_MS = 1000;
/** The longest rate-limit period: 30 days. */
export const MAX_PERIOD_MS = 30 * 86_400_000;
/** The longest key a key function may return. */
export const MAX_KEY_LENGTH = 256;

interface Issue {
  readonly message: string;
  readonly path: readonly PropertyKey[];
}

interface LimitShape {
  readonly concurrency?: unknown;
  readonly rateLimit?: unknown;
  readonly inline?: unknown;
}

/** What is wrong with the limits among task options (nothing when they are fine or absent). */
export function limitProblems(options: LimitShape): Issue[] {
  const issues: Issue[] = [];
  const { concurrency, rateLimit } = options;
  if (concurrency !== undefined) issues.push(...shapeProblems("concurrency", concurrency, ["limit", "key"]));
  if (rateLimit !== undefined) {
    issues.push(...shapeProblems("rateLimit", rateLimit, ["limit", "periodMs", "key"]));
    const shaped = typeof rateLimit === "object" && rateLimit !== null;
    if (shaped && !isWhole((rateLimit as Record<string, unknown>).periodMs, MIN_PERIOD_MS, MAX_PERIOD_MS)) {
      issues.push({
        message: `rateLimit.periodMs must be a whole number of milliseconds from ${MIN_PERIOD_MS} (1 second) to ${MAX_PERIOD_MS} (30 days)`,
        path: ["rateLimit", "periodMs"],
      });
    }
  }
  if (options.inline === true && (concurrency !== undefined || rateLimit !== undefined)) {
    issues.push({
      message: "inline cannot be combined with concurrency or rateLimit: an inline call runs in its caller's attempt, past any limit; drop inline or the limit",
      path: [],
    });
  }
  return issues;
}

function shapeProblems(name: string, value: unknown, keys: readonly string[]): Issue[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [{ message: `${name} must be an object such as { limit: 5${name === "rateLimit" ? ", periodMs: 60000" : ""}, key: (arg) => arg.tenant }`, path: [name] }];
  }
  const issues: Issue[] = [];
  const unknown = Object.keys(value).filter((k) => !keys.includes(k));
  if (unknown.length > 0) issues.push({ message: `${name} has unknown field ${unknown.join(", ")}; its fields are ${keys.join(", ")}`, path: [] });
  const { limit, key } = value as { limit?: unknown; key?: unknown };
  if (!isWhole(limit, 1, MAX_LIMIT)) issues.push({ message: `${name}.limit must be a whole number from 1 to ${MAX_LIMIT}`, path: [name, "limit"] });
  if (key !== undefined && typeof key !== "function") {
    issues.push({ message: `${name}.key must be a function of the task's arguments returning a string, such as (req) => req.tenant`, path: [name, "key"] });
  }
  return issues;
}

function isWhole(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

interface LimitOptions {
  readonly concurrency: { readonly limit: number; readonly key?: (...args: unknown[]) => string } | undefined;
  readonly rateLimit: { readonly limit: number; readonly periodMs: number; readonly key?: (...args: unknown[]) => string } | undefined;
}

/**
 * The keys an execution of task `name` is counted under, from its arguments; `undefined`
 * for a task with no limit. A task-wide limit's key is "".
 * @throws FloeError `FLOE_INVALID_OPTION` when a key function throws or returns anything but a short string
 */
export function limitKeysOf(name: string, options: LimitOptions, args: readonly unknown[]): LimitKeys | undefined {
  const { concurrency, rateLimit } = options;
  if (concurrency === undefined && rateLimit === undefined) return undefined;
  return {
    ...(concurrency === undefined ? {} : { concurrency: { key: keyOf(name, "concurrency", concurrency.key, args), limit: concurrency.limit } }),
    ...(rateLimit === undefined ? {} : { rate: { key: keyOf(name, "rateLimit", rateLimit.key, args), limit: rateLimit.limit, periodMs: rateLimit.periodMs } }),
  };
}

function keyOf(name: string, option: string, fn: ((...args: unknown[]) => string) | undefined, args: readonly unknown[]): string {
  if (fn === undefined) return "";
  let key: unknown;
  try {
    key = fn(...args);
  } catch (error) {
    throw new FloeError(ErrorCode.InvalidOption, `the ${option}.key function of task "${name}" threw: ${String((error as Error)?.message ?? error)}; make it return a string for every call`, {
      cause: error,
    });
  }
  if (typeof key !== "string" || key.length > MAX_KEY_LENGTH) {
    const got = typeof key === "string" ? `a string of ${key.length} characters` : typeof key;
    throw new FloeError(ErrorCode.InvalidOption, `the ${option}.key function of task "${name}" must return a string of at most ${MAX_KEY_LENGTH} characters, got ${got}; return e.g. String(req.tenant)`);
  }
  return key;
}

