/**
 * The findings of cdk-nag's AwsSolutions and Serverless packs that floe's design answers
 * otherwise, acknowledged on the resources they concern, each with its reason. They are
 * recorded with CDK's own `Validations` API (what cdk-nag 3 reads), so the construct does
 * not depend on cdk-nag and an app that runs the packs sees only its own findings.
 */
import { Names, Stack, Validations, type CfnResource } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import type { Orchestrator } from "./orchestrator.ts";

const reasons = {
  runtime:
    "floe targets, bundles for and is tested on Node.js 22 (nodejs22.x, supported by Lambda until 2027); " +
    "moving to a newer runtime is a tested change, not an automatic one",
  scheduled:
    "invoked by a schedule: EventBridge retries a failed invocation twice, and the next invocation looks back an hour " +
    "at runs, so a lost one leaves nothing behind",
  asyncDlq:
    "never invoked asynchronously: SQS and DynamoDB event source mappings and API Gateway invoke it synchronously; " +
    "failed task messages go to the queue's own dead-letter queue and failed stream records to the on-failure queue",
  sqsMappingDestination:
    "an SQS event source mapping cannot have an on-failure destination; the source queue's redrive policy " +
    "(or, for a dead-letter queue, its 14-day retention and the depth alarm) plays that part",
  payloadObjects:
    "payload object keys are derived from execution ids unknown at deploy time; the grant is s3:GetObject and " +
    "s3:PutObject at most, on the payloads/ prefix of this construct's bucket, to the functions that move payloads",
  listStreams:
    "dynamodb:ListStreams cannot be scoped to a resource (IAM supports only *); it is added by the stream " +
    "event source and reads no data; the data actions are scoped to this table's stream",
  tracing:
    "X-Ray tracing is left off to keep per-request costs down; turn it on with Tracing.ACTIVE on the exposed functions",
  bucketAccessLogs:
    "the bucket holds only payloads written and read by floe's own functions with their roles; object access " +
    "can be audited with CloudTrail data events without a second bucket to manage",
  taskQueues:
    "a release may queue any task, so these roles send to every task queue of this construct: the queues are named " +
    "<namePrefix>-<task> and granted by that pattern, one resource however many tasks there are (listing each ARN " +
    "overflows IAM's policy size past a few dozen tasks); the prefix is unique to this construct and stack",
  deadLetterQueues:
    "the dead-letter handler consumes every dead-letter queue of this construct, named <namePrefix>_<task> and granted " +
    "by that pattern, one resource however many tasks there are; the prefix is unique to this construct and stack",
  callbackRoute:
    "POST /callbacks/{token} is called by whoever holds an external execution's callback URL (a person clicking a " +
    "link, a third party's webhook), without AWS credentials or a token of the issuer: the token in the path is the " +
    "secret (128 bits of HMAC, single-use, expiring with the execution, checked by the API function, 404 for any bad " +
    "one), and the route is throttled on its own (callbackRateLimitPerSecond, callbackBurstLimit)",
  workerLogs:
    "the API reads task logs back with logs:FilterLogEvents on the worker log groups only, named " +
    "/floe/<namePrefix>/workers/<task> and granted by that pattern, one resource however many tasks there are; " +
    "the prefix is unique to this construct and stack",
  xray:
    "xray:PutTraceSegments and xray:PutTelemetryRecords cannot be scoped to a resource (IAM supports only *); " +
    "they are what Lambda's active tracing needs, granted only with the Orchestrator's tracing prop",
  endOfLine:
    "this queue is the last stop (a dead-letter queue or the coordinator's on-failure destination): it keeps " +
    "messages 14 days for inspection and an alarm fires when it is not empty",
};

function acknowledge(scope: IConstruct, pack: "AwsSolutions" | "Serverless", rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `${pack}-${rule}`, reason });
}

/** A resource as cdk-nag names it in a finding: references as `<Id>` and `<Id.Attribute>`. */
function nagResource(scope: IConstruct, value: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === "string") return node;
    const object = node as Record<string, unknown>;
    if ("Fn::Join" in object) {
      const [separator, parts] = object["Fn::Join"] as [string, unknown[]];
      return parts.map(visit).join(separator);
    }
    if ("Fn::GetAtt" in object) return `<${(object["Fn::GetAtt"] as string[]).join(".")}>`;
    if ("Ref" in object) return `<${String(object.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(value));
}

/**
 * Acknowledges, on `role`, the wildcard of X-Ray's actions, which take no resource.
 * @param role - a traced function's role
 */
export function acknowledgeXRay(role: IConstruct): void {
  acknowledge(role, "AwsSolutions", "IAM5[Resource::*]", reasons.xray);
}

/**
 * Acknowledges, on `role`, the wildcard of the task queues' ARN pattern that floe grants it.
 * @param role - a role granted to send task messages
 * @param taskQueueArns - the orchestrator's pattern
 */
export function acknowledgeTaskQueues(role: IConstruct, taskQueueArns: string): void {
  acknowledge(role, "AwsSolutions", `IAM5[Resource::${nagResource(role, taskQueueArns)}]`, reasons.taskQueues);
}

/**
 * Acknowledges the findings floe's design answers otherwise on `orchestrator`'s resources.
 * @param orchestrator - the construct whose resources are concerned
 */
export function acknowledgeDesignFindings(orchestrator: Orchestrator): void {
  const stack = Stack.of(orchestrator);
  const bucketId = stack.resolve((orchestrator.bucket.node.defaultChild as CfnResource).logicalId) as string;
  for (const fn of orchestrator.functions) {
    acknowledge(fn, "AwsSolutions", "L1", reasons.runtime);
    acknowledge(fn, "Serverless", "LambdaLatestVersion", reasons.runtime);
    acknowledge(fn, "Serverless", "LambdaDLQ", fn === orchestrator.reconciler ? reasons.scheduled : reasons.asyncDlq);
    acknowledge(fn, "Serverless", "LambdaTracing", reasons.tracing);
  }
  for (const fn of [...orchestrator.taskFunctions, orchestrator.apiHandler, orchestrator.deadLetterHandler]) {
    // A worker's role lives in a nested stack, where the bucket's ARN arrives as a parameter
    // that CDK names `referenceto<the bucket resource's unique id>Arn` once it synthesizes.
    const bucketArns = Stack.of(fn) === stack ? [`<${bucketId}.Arn>`] : [`<${bucketId}.Arn>`, `<referenceto${Names.uniqueId(orchestrator.bucket.node.defaultChild!)}Arn>`];
    for (const arn of bucketArns) acknowledge(fn.role!, "AwsSolutions", `IAM5[Resource::${arn}/payloads/*]`, reasons.payloadObjects);
  }
  for (const fn of orchestrator.functions) acknowledgeTaskQueues(fn.role!, orchestrator.taskQueueArns);
  const deadLetterQueues = nagResource(orchestrator, orchestrator.deadLetterQueueArns);
  acknowledge(orchestrator.deadLetterHandler.role!, "AwsSolutions", `IAM5[Resource::${deadLetterQueues}]`, reasons.deadLetterQueues);
  // A task's two mappings, its queue's and its dead-letter queue's, both live in its TaskWorker.
  for (const worker of orchestrator.tasks.values()) {
    acknowledge(worker, "Serverless", "LambdaEventSourceMappingDestination", reasons.sqsMappingDestination);
  }
  acknowledge(orchestrator.coordinator.role!, "AwsSolutions", "IAM5[Resource::*]", reasons.listStreams);
  acknowledge(orchestrator.reconcileSchedule, "Serverless", "EventBusDLQ", reasons.scheduled);
  acknowledge(orchestrator.bucket, "AwsSolutions", "S1", reasons.bucketAccessLogs);
  for (const queue of [...[...orchestrator.tasks.values()].map((t) => t.deadLetterQueue), orchestrator.coordinatorFailures]) {
    acknowledge(queue, "Serverless", "SQSRedrivePolicy", reasons.endOfLine);
  }
  acknowledge(orchestrator.coordinatorFailures, "AwsSolutions", "SQS3", reasons.endOfLine);
  acknowledge(orchestrator.api.callbackRoute, "AwsSolutions", "APIG4", reasons.callbackRoute);
  acknowledge(orchestrator.apiHandler.role!, "AwsSolutions", `IAM5[Resource::${nagResource(orchestrator, orchestrator.workerLogGroupArns)}]`, reasons.workerLogs);
}
