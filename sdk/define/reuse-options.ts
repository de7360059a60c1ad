/** The options that reuse executions (`debounce`, `cache`, `memo`): their shapes and validation. */
import { ErrorCode, FloeError } from "../errors.ts";

/** A function of a call's arguments naming what it shares: calls with one key share. */
export type ReuseKey = (...args: never[]) => string;

/** How calls of a task are debounced (see `TaskOptions.debounce`). */
export interface DebounceOptions {
  /**
   * How long after the latest call of a key the execution starts, in milliseconds: each call
   * within the window pushes its start back to this long after itself (a trailing window).
   * 1000 (one second) to 2592000000 (30 days).
   */
  readonly periodMs: number;
  /**
   * The longest the first call of a window waits, in milliseconds, however often calls
   * keep coming: the start is never pushed past the window's opening plus this. At least
   * `periodMs`, at most 30 days.
   * @default no cap
   */
  readonly maxWaitMs?: number;
  /**
   * The key of a call, from its arguments: calls with one key within a window share one
   * execution. A function returning a string (at most 1024 characters).
   * @default the task (every call shares)
   */
  readonly key?: ReuseKey;
}

/** How long and under which key a task's results are reused (see `TaskOptions.cache`). */
export interface CacheOptions {
  /**
   * How long a completed result is reused after its execution finished, in milliseconds:
   * 1000 (one second) to 31536000000 (365 days).
   */
  readonly ttlMs: number;
  /**
   * The key of a call, from its arguments: a call whose key has a result within the TTL
   * reuses it. A function returning a string (at most 1024 characters).
   * @default the encoded arguments
   */
  readonly key?: ReuseKey;
}

/** `debounce` after validation. */
export interface DebounceSpec {
  readonly periodMs: number;
  readonly maxWaitMs: number | undefined;
  readonly key: ReuseKey | undefined;
}

/** `cache` after validation. */
export interface CacheSpec {
  readonly ttlMs: number;
  readonly key: ReuseKey | undefined;
}

/** The TTL of `cache: true`: one day. */
export const DEFAULT_CACHE_TTL_MS = 86_400_000;
const second = 1000;
const maxPeriod = 30 * 86_400_000;
const maxTtl = 365 * 86_400_000;
/** The longest key a key function may return: keys are digested, but a huge one is a mistake. */
export const MAX_REUSE_KEY = 1024;

/** The reuse options of one task after validation. */
export interface ReuseSpec {
  readonly debounce: DebounceSpec | undefined;
  readonly cache: CacheSpec | undefined;
  readonly memo: boolean;
}

/** What {@link reuseOptions} needs to know of the task besides its reuse options. */
export interface ReuseContext {
  readonly name: string;
  readonly kind: "task" | "workflow";
  readonly inline: boolean;
  readonly schedule: boolean;
}

/**
 * Validates `debounce`, `cache` and `memo`.
 * @throws FloeError `FLOE_INVALID_OPTION` naming the option, the value and the fix
 */
export function reuseOptions(task: ReuseContext, options: { debounce?: unknown; cache?: unknown; memo?: unknown }): ReuseSpec {
  const problems: string[] = [];
  const debounce = options.debounce === undefined ? undefined : debounceSpec(options.debounce, problems);
  const cache = options.cache === undefined || options.cache === false ? undefined : cacheSpec(options.cache, problems);
  if (options.memo !== undefined && typeof options.memo !== "boolean") problems.push(`memo must be true or false, got ${show(options.memo)}`);
  const memo = options.memo === true;
  if (debounce !== undefined && cache !== undefined) {
    problems.push("debounce and cache cannot be combined: a debounced call waits for the window's last arguments, which no cached result can answer; keep one");
  }
  if (debounce !== undefined && memo) problems.push("debounce and memo cannot be combined: debounced calls already share one execution; drop memo");
  if (debounce !== undefined && task.inline) problems.push("debounce cannot be combined with inline: a debounced execution waits for its window, so it never runs in its caller; drop inline");
  if (task.kind === "workflow" && memo) problems.push("memo applies to calls inside a run, and a workflow starts runs; put memo on the tasks it calls");
  if (task.schedule && (debounce !== undefined || cache !== undefined)) problems.push("a scheduled workflow runs once per tick; drop debounce and cache from it");
  if (problems.length > 0) throw new FloeError(ErrorCode.InvalidOption, `invalid options for ${task.kind} "${task.name}": ${problems.join("; ")}`);
  return { debounce, cache, memo };
}

function debounceSpec(value: unknown, problems: string[]): DebounceSpec | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`debounce must be { periodMs, key?, maxWaitMs? }, got ${show(value)}`);
    return undefined;
  }
  const { periodMs, maxWaitMs, key, ...rest } = value as Record<string, unknown>;
  const before = problems.length;
  for (const unknown of Object.keys(rest)) problems.push(`unknown option debounce.${unknown}; debounce takes periodMs, key and maxWaitMs`);
  checkMs("debounce.periodMs", periodMs, second, maxPeriod, problems);
  if (maxWaitMs !== undefined) {
    checkMs("debounce.maxWaitMs", maxWaitMs, second, maxPeriod, problems);
    if (typeof periodMs === "number" && typeof maxWaitMs === "number" && maxWaitMs < periodMs) {
      problems.push(`debounce.maxWaitMs (${maxWaitMs}) must be at least debounce.periodMs (${periodMs}); raise it or drop it`);
    }
  }
  checkKey("debounce.key", key, problems);
  if (problems.length > before) return undefined;
  return { periodMs: periodMs as number, maxWaitMs: maxWaitMs as number | undefined, key: key as ReuseKey | undefined };
}

function cacheSpec(value: unknown, problems: string[]): CacheSpec | undefined {
  if (value === true) return { ttlMs: DEFAULT_CACHE_TTL_MS, key: undefined };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`cache must be true or { ttlMs, key? }, got ${show(value)}`);
    return undefined;
  }
  const { ttlMs, key, ...rest } = value as Record<string, unknown>;
  const before = problems.length;
  for (const unknown of Object.keys(rest)) problems.push(`unknown option cache.${unknown}; cache takes ttlMs and key`);
  checkMs("cache.ttlMs", ttlMs, second, maxTtl, problems);
  checkKey("cache.key", key, problems);
  if (problems.length > before) return undefined;
  return { ttlMs: ttlMs as number, key: key as ReuseKey | undefined };
}

function checkMs(name: string, value: unknown, min: number, max: number, problems: string[]): void {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    problems.push(`${name} must be a whole number of milliseconds, got ${show(value)}`);
  } else if (value < min || value > max) {
    problems.push(`${name} must be between ${min} (one second) and ${max} milliseconds, got ${value}`);
  }
}

function checkKey(name: string, key: unknown, problems: string[]): void {
  if (key !== undefined && typeof key !== "function") {
    problems.push(`${name} must be a function of the arguments returning a string, such as (order) => order.customerId; got ${show(key)}`);
  }
}

/**
 * A call's key by the task's key function, checked.
 * @throws FloeError `FLOE_INVALID_OPTION` when it throws or returns anything but a string of at most {@link MAX_REUSE_KEY} characters
 */
export function callKey(taskName: string, option: "debounce.key" | "cache.key", key: ReuseKey, args: readonly unknown[]): string {
  let value: unknown;
  try {
    value = (key as (...a: readonly unknown[]) => unknown)(...args);
  } catch (error) {
    throw new FloeError(ErrorCode.InvalidOption, `${option} of "${taskName}" threw for these arguments: ${error instanceof Error ? error.message : show(error)}; make it return a string for every call`);
  }
  if (typeof value !== "string") {
    throw new FloeError(ErrorCode.InvalidOption, `${option} of "${taskName}" returned ${show(value)}, not a string; return a string (String(id), or JSON.stringify of the parts)`);
  }
  if (value.length > MAX_REUSE_KEY) {
    throw new FloeError(ErrorCode.InvalidOption, `${option} of "${taskName}" returned a key of ${value.length} characters, over ${MAX_REUSE_KEY}; return a shorter key (an id, not the data)`);
  }
  return value;
}

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
