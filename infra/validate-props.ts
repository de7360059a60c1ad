/**
 * The Orchestrator's props, checked and resolved per task. Every problem is collected and
 * reported in one error at synth time, each naming its prop, so a user fixes them in one go.
 */
import { Stack, Token } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { createHash } from "node:crypto";
import { defaultJwtScopes, type RouteAccess } from "./orchestrator-api.ts";
import type { OrchestratorProps, TaskFunctionProps } from "./orchestrator-props.ts";
import type { TaskSummary } from "./task-definitions.ts";
import { taskGroupProblems } from "./task-groups.ts";

/** A task's worker settings, resolved. */
export interface TaskSettings {
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly reservedConcurrency: number | undefined;
  /** Six times the timeout: a message is not redelivered while an invocation may still run it. */
  readonly visibilityTimeoutSeconds: number;
}

/** The props, resolved. */
export interface ResolvedProps {
  readonly tasks: ReadonlyMap<string, TaskSettings>;
  readonly maxReceiveCount: number;
  /** With a JWT authorizer, the scopes of each kind of route; with IAM, undefined. */
  readonly jwtScopes: Readonly<Record<RouteAccess, readonly string[]>> | undefined;
  /** The callback route's throttle. */
  readonly callbackThrottle: { readonly rateLimitPerSecond: number; readonly burstLimit: number };
}

/**
 * `floe-` and 8 hex digits of a digest of the deployed stack's name and this construct's
 * path: stack names are unique in an account and region, so two stacks of one app, or one
 * app deployed as `floe-dev` and `floe-staging`, get different queue names; and 13
 * characters leave room for any task name in SQS's 80.
 *
 * @param scope - the Orchestrator
 * @returns the prefix of its queues' names
 * @throws Error when the stack's name is a token, unknown at synth time
 */
export function defaultNamePrefix(scope: Construct): string {
  let stack = Stack.of(scope);
  // A nested stack's name is known only at deploy time; its top-level stack's is not.
  while (stack.nestedStackParent !== undefined) stack = stack.nestedStackParent;
  if (Token.isUnresolved(stack.stackName)) {
    throw new Error(
      `${scope.node.path}: the stack's name ${stack.stackName} is not known at synth time, and floe derives its queue names from it; ` +
        "give the stack a literal stackName or the Orchestrator a namePrefix",
    );
  }
  const digest = createHash("sha256").update(`${stack.stackName}\n${scope.node.path}`).digest("hex");
  return `floe-${digest.slice(0, 8).toUpperCase()}`;
}

/** Prefixes allowed in SQS queue names, short enough for any valid task name. */
export const namePrefixPattern = /^[A-Za-z0-9_-]{1,15}$/;
const maxTimeoutSeconds = 900;
/** Headroom between a task's own timeout and its function's. */
const timeoutHeadroomSeconds = 30;

class Problems {
  readonly list: string[] = [];

  /** Checks that `value`, when set, is a whole number in [min, max]. */
  range(prop: string, value: number | undefined, min: number, max: number, why = ""): void {
    if (value === undefined || Token.isUnresolved(value)) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      this.list.push(`${prop} must be a whole number from ${min} to ${max}${why}, got ${value}`);
    }
  }

  add(message: string): void {
    this.list.push(message);
  }
}

/**
 * Checks `props` against the tasks the module defines and resolves each task's settings.
 *
 * @param props - the construct's props
 * @param tasks - what the tasks module defines
 * @returns each task's settings, by name
 * @throws Error listing every problem found, each naming its prop
 */
export function resolveProps(props: OrchestratorProps, tasks: readonly TaskSummary[]): ResolvedProps {
  const problems = new Problems();
  if (tasks.length === 0) problems.add(`tasksModule: ${props.tasksModule} defines no task or workflow; import the modules that define them`);
  const known = new Set(tasks.map((t) => t.name));
  for (const name of Object.keys(props.taskOverrides ?? {})) {
    if (!known.has(name)) {
      problems.add(
        `taskOverrides.${name}: ${props.tasksModule} defines no task named "${name}"; ` +
          `the defined ones are ${[...known].sort().map((k) => `"${k}"`).join(", ") || "none"}`,
      );
    }
  }
  for (const problem of taskGroupProblems(props.tasksModule, tasks.map((t) => t.name))) problems.add(problem);
  checkDefaults(props, problems);
  const resolved = new Map<string, TaskSettings>();
  for (const task of tasks) resolved.set(task.name, resolveTask(task, props, props.taskOverrides?.[task.name] ?? {}, problems));
  if (problems.list.length > 0) {
    const count = problems.list.length === 1 ? "1 problem" : `${problems.list.length} problems`;
    throw new Error(`floe Orchestrator props: ${count}:\n${problems.list.map((p) => `  - ${p}`).join("\n")}`);
  }
  return { tasks: resolved, maxReceiveCount: props.maxReceiveCount ?? 5, jwtScopes: resolveJwtScopes(props), callbackThrottle: callbackThrottleOf(props) };
}

function checkDefaults(props: OrchestratorProps, problems: Problems): void {
  problems.range("memorySizeMb", props.memorySizeMb, 128, 10_240);
  problems.range("timeoutSeconds", props.timeoutSeconds, 1, maxTimeoutSeconds, " (Lambda's limit is 15 minutes)");
  problems.range("batchSize", props.batchSize, 1, 10, " (an SQS event source without a batching window takes at most 10)");
  problems.range("maxConcurrency", props.maxConcurrency, 2, 1000, " (the SQS event source's limits)");
  problems.range("maxReceiveCount", props.maxReceiveCount, 5, 1000, " (fewer dead-letters messages a throttled batch only returned)");
  problems.range("apiRateLimitPerSecond", props.apiRateLimitPerSecond, 1, 10_000);
  problems.range("apiBurstLimit", props.apiBurstLimit, 1, 5000);
  checkCallbackThrottle(props, problems);
  problems.range("executionRetentionDays", props.executionRetentionDays, 1, 36_500);
  if (props.namePrefix !== undefined && !Token.isUnresolved(props.namePrefix) && !namePrefixPattern.test(props.namePrefix)) {
    problems.add(`namePrefix must be 1 to 15 letters, digits, "_" or "-" (it starts every queue name), got ${JSON.stringify(props.namePrefix)}`);
  }
  if (props.jwtAudience !== undefined && props.jwtIssuer === undefined) {
    problems.add("jwtAudience is set without jwtIssuer: set both for a JWT authorizer, or neither for IAM authorisation");
  }
  if (props.jwtIssuer !== undefined && !Token.isUnresolved(props.jwtIssuer)) {
    if (!/^https:\/\/\S+$/.test(props.jwtIssuer)) problems.add(`jwtIssuer must be an https URL, got ${JSON.stringify(props.jwtIssuer)}`);
    if ((props.jwtAudience ?? []).length === 0) problems.add("jwtIssuer is set without jwtAudience: name at least one audience the tokens must carry");
  }
  checkJwtScopes(props, problems);
  checkMonitoring(props, problems);
}

/** CloudWatch's namespace rule: 1 to 255 of these characters, and not AWS's own. */
const namespacePattern = /^[A-Za-z0-9 .\-_/#:]{1,255}$/;

function checkMonitoring(props: OrchestratorProps, problems: Problems): void {
  const monitoring = props.monitoring;
  if (props.tracing !== undefined && typeof props.tracing !== "boolean") problems.add(`tracing must be true or false, got ${JSON.stringify(props.tracing)}`);
  if (monitoring === undefined) return;
  const { namespace, failureRateAlarm: alarm } = monitoring;
  if (namespace !== undefined && !Token.isUnresolved(namespace) && (!namespacePattern.test(namespace) || namespace.startsWith("AWS/"))) {
    problems.add(`monitoring.namespace must be 1 to 255 letters, digits or . - _ / # : and spaces, not starting with "AWS/", got ${JSON.stringify(namespace)}`);
  }
  if (monitoring.metrics === false && (monitoring.dashboard === true || alarm !== undefined)) {
    problems.add("monitoring.metrics is false, but the dashboard and the failure-rate alarm are drawn from those metrics: remove metrics: false, or the dashboard and alarm");
  }
  if (alarm === undefined) return;
  const { threshold } = alarm;
  if (!Token.isUnresolved(threshold) && (typeof threshold !== "number" || !(threshold > 0 && threshold < 1))) {
    problems.add(`monitoring.failureRateAlarm.threshold is a share of the executions that ended, greater than 0 and below 1 (0.05 for 5%), got ${JSON.stringify(threshold)}`);
  }
  problems.range("monitoring.failureRateAlarm.periods", alarm.periods, 1, 288, " (5-minute periods, up to a day)");
}

/** The callback route's throttle: in API Gateway's range, and within the stage's own. */
function checkCallbackThrottle(props: OrchestratorProps, problems: Problems): void {
  problems.range("callbackRateLimitPerSecond", props.callbackRateLimitPerSecond, 1, 10_000);
  problems.range("callbackBurstLimit", props.callbackBurstLimit, 1, 5000);
  const above = (prop: string, value: number | undefined, stageProp: string, stage: number) => {
    if (value === undefined || Token.isUnresolved(value) || Token.isUnresolved(stage) || value <= stage) return;
    problems.add(`${prop} (${value}) exceeds ${stageProp} (${stage}), which limits every route: lower it, or raise ${stageProp}`);
  };
  above("callbackRateLimitPerSecond", props.callbackRateLimitPerSecond, "apiRateLimitPerSecond", props.apiRateLimitPerSecond ?? 100);
  above("callbackBurstLimit", props.callbackBurstLimit, "apiBurstLimit", props.apiBurstLimit ?? 200);
}

/** The callback route's throttle: as given, else 10 and 20, or the stage's own when lower. */
function callbackThrottleOf(props: OrchestratorProps): ResolvedProps["callbackThrottle"] {
  const lower = (fallback: number, stage: number | undefined) => (stage === undefined || Token.isUnresolved(stage) ? fallback : Math.min(fallback, stage));
  return {
    rateLimitPerSecond: props.callbackRateLimitPerSecond ?? lower(10, props.apiRateLimitPerSecond),
    burstLimit: props.callbackBurstLimit ?? lower(20, props.apiBurstLimit),
  };
}

/** An OAuth scope (RFC 6749, section 3.3): printable ASCII but for spaces, quotes and backslashes. */
const scopePattern = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function checkJwtScopes(props: OrchestratorProps, problems: Problems): void {
  if (props.jwtScopes === undefined) return;
  if (props.jwtIssuer === undefined) {
    problems.add("jwtScopes is set without jwtIssuer: scopes apply to a JWT authorizer; with IAM authorisation use grantStart, grantRead, grantCancel and grantComplete");
  }
  const kinds = Object.keys(defaultJwtScopes);
  for (const [kind, scopes] of Object.entries(props.jwtScopes as Record<string, unknown>)) {
    const prop = `jwtScopes.${kind}`;
    if (!kinds.includes(kind)) problems.add(`${prop}: no such kind of route; the kinds are ${kinds.map((k) => `"${k}"`).join(", ")}`);
    else if (scopes !== undefined) checkScopeList(prop, scopes, problems);
  }
}

function checkScopeList(prop: string, scopes: unknown, problems: Problems): void {
  if (!Array.isArray(scopes) || scopes.length === 0) {
    problems.add(`${prop} must list at least one scope (a route without one lets in any token of the issuer), got ${JSON.stringify(scopes)}`);
    return;
  }
  for (const scope of scopes as unknown[]) {
    if (typeof scope === "string" && (Token.isUnresolved(scope) || scopePattern.test(scope))) continue;
    problems.add(`${prop} holds ${JSON.stringify(scope)}, not a scope: printable ASCII without spaces, quotes or backslashes (RFC 6749, section 3.3)`);
  }
}

/** Each kind of route's scopes: the props' where given, else the default; none with IAM. */
function resolveJwtScopes(props: OrchestratorProps): ResolvedProps["jwtScopes"] {
  if (props.jwtIssuer === undefined) return undefined;
  const own = props.jwtScopes ?? {};
  return {
    start: own.start ?? defaultJwtScopes.start,
    read: own.read ?? defaultJwtScopes.read,
    cancel: own.cancel ?? defaultJwtScopes.cancel,
    complete: own.complete ?? defaultJwtScopes.complete,
    rerun: own.rerun ?? defaultJwtScopes.rerun,
  };
}

function resolveTask(task: TaskSummary, props: OrchestratorProps, own: TaskFunctionProps, problems: Problems): TaskSettings {
  const at = (prop: string) => `taskOverrides.${task.name}.${prop}`;
  problems.range(at("memorySizeMb"), own.memorySizeMb, 128, 10_240);
  problems.range(at("timeoutSeconds"), own.timeoutSeconds, 1, maxTimeoutSeconds, " (Lambda's limit is 15 minutes)");
  problems.range(at("batchSize"), own.batchSize, 1, 10, " (an SQS event source without a batching window takes at most 10)");
  problems.range(at("maxConcurrency"), own.maxConcurrency, 2, 1000, " (the SQS event source's limits)");
  problems.range(at("reservedConcurrency"), own.reservedConcurrency, 1, 10_000);
  const taskSeconds = task.timeoutMs === undefined ? undefined : Math.ceil(task.timeoutMs / 1000);
  const explicit = own.timeoutSeconds ?? props.timeoutSeconds;
  const timeoutSeconds = explicit ?? Math.min(maxTimeoutSeconds, Math.max(60, (taskSeconds ?? 0) + timeoutHeadroomSeconds));
  if (taskSeconds !== undefined && !Token.isUnresolved(timeoutSeconds) && taskSeconds >= timeoutSeconds) {
    const prop = own.timeoutSeconds !== undefined ? at("timeoutSeconds") : "timeoutSeconds";
    problems.add(
      `${prop} (${timeoutSeconds} s) must exceed task "${task.name}"'s timeoutMs (${task.timeoutMs} ms), or the function ` +
        "is stopped before the task's own timeout can fail the attempt cleanly",
    );
  }
  const maxConcurrency = own.maxConcurrency ?? props.maxConcurrency ?? 50;
  const reserved = own.reservedConcurrency;
  if (reserved !== undefined && !Token.isUnresolved(reserved) && !Token.isUnresolved(maxConcurrency) && reserved < maxConcurrency) {
    problems.add(
      `${at("reservedConcurrency")} (${reserved}) is below the event source's maxConcurrency (${maxConcurrency}): ` +
        "the queue would start invocations Lambda throttles; raise it or lower maxConcurrency",
    );
  }
  return {
    memorySizeMb: own.memorySizeMb ?? props.memorySizeMb ?? 512,
    timeoutSeconds,
    batchSize: own.batchSize ?? props.batchSize ?? 10,
    maxConcurrency,
    reservedConcurrency: reserved,
    visibilityTimeoutSeconds: 6 * timeoutSeconds,
  };
}
