/**
 * The settings of a function on the AWS code path, read from the environment the
 * Orchestrator construct sets (on floe's functions, and on a function it connects). Apart
 * from `aws-runtime.ts`, so that telling whether a function is connected loads no AWS SDK.
 */
import * as z from "../zod.ts";
import { EnvironmentVariable as V, INLINE_FAN_IN } from "./contract.ts";

const environmentSchema = z.object({
  [V.TableName]: z.string().check(z.minLength(1, { error: `${V.TableName} must name the executions table` })),
  [V.BucketName]: z.string().check(z.minLength(1, { error: `${V.BucketName} must name the payload bucket` })),
  // The URL format as a check on a string, not z.url() alone: a missing variable keeps
  // zod's "expected string" message instead of claiming the value is a malformed URL.
  [V.QueueUrlPrefix]: z
    .string()
    .check(z.url({ error: `${V.QueueUrlPrefix} must be a URL: a task's queue URL is this prefix followed by the task's name` })),
  [V.TasksModule]: z.optional(z.string().check(z.minLength(1))),
  [V.SuspendAfterMs]: z._default(z.coerce.number().check(z.int(), z.minimum(0)), 100),
  [V.VisibilityTimeoutSeconds]: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 900),
  [V.RetentionDays]: z.optional(z.coerce.number().check(z.int(), z.minimum(1))),
  [V.InlineFanIn]: z._default(z.coerce.number().check(z.int(), z.minimum(0)), INLINE_FAN_IN),
  [V.WakeScheduleGroup]: z.optional(z.string().check(z.minLength(1))),
  [V.WakeRoleArn]: z.optional(z.string().check(z.minLength(1))),
  [V.QueueArnPrefix]: z.optional(z.string().check(z.minLength(1))),
  [V.WorkflowSchedules]: z.optional(z.string()),
  [V.WorkerLogGroupPrefix]: z.optional(z.string().check(z.regex(/^[\w./#-]{1,400}$/, { error: `${V.WorkerLogGroupPrefix} must be the start of log group names (letters, digits and _ - . / #)` }))),
  [V.ApiUrl]: z.optional(z.string().check(z.url({ error: `${V.ApiUrl} must be the API's URL, the base of callback URLs` }))),
  [V.MetricsNamespace]: z.optional(z.string().check(z.minLength(1, { error: `${V.MetricsNamespace} must name a CloudWatch namespace, or be unset` }))),
  [V.MetricsDeployment]: z.optional(z.string().check(z.minLength(1))),
  [V.Tracing]: z.optional(z.enum(["true", "false"], { error: `${V.Tracing} must be "true" or "false"` })),
  AWS_ENDPOINT_URL: z.optional(z.string()),
  AWS_ENDPOINT_URL_S3: z.optional(z.string()),
});

/** A function's settings, validated from its environment. */
export type Environment = z.infer<typeof environmentSchema> & { readonly pathStyle: boolean };

/**
 * Reads and validates the environment.
 * @throws Error naming every missing or malformed variable
 */
export function readEnvironment(env: Record<string, string | undefined> = process.env): Environment {
  const parsed = environmentSchema.safeParse(env);
  if (parsed.success) {
    const wakes = [V.WakeScheduleGroup, V.WakeRoleArn, V.QueueArnPrefix] as const;
    const set = wakes.filter((name) => parsed.data[name] !== undefined);
    if (set.length > 0 && set.length < wakes.length) {
      const missing = wakes.filter((name) => parsed.data[name] === undefined);
      throw new Error(`floe handler misconfigured: ${set.join(", ")} set without ${missing.join(", ")}; wake-ups through Scheduler need all three (the Orchestrator construct sets them)`);
    }
    const pathStyle = parsed.data.AWS_ENDPOINT_URL_S3 !== undefined || parsed.data.AWS_ENDPOINT_URL !== undefined;
    return { ...parsed.data, pathStyle };
  }
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`floe handler misconfigured: ${problems.join("; ")} (the Orchestrator construct sets these)`);
}
