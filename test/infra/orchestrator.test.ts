/**
 * T20: the example stack's template. One synthesis (with real bundling) serves every test.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Stack, type App, type CfnElement } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { readEnvironment } from "../../functions/environment.ts";
import type { FloeExamplesStack } from "../../infra/app.ts";
import { executionTableDefinition } from "../../sdk/aws/contract.ts";
import { dataGrants, evaluate, nestedTemplates, resourcesOf, synthExampleStack } from "./example-stack.ts";

const exampleTasks = [
  "stop_at_floor", "elevator", "charge_card", "checkout", "send_confirmation_email",
  "place_order", "load_user", "load_product", "create_order", "process_order", "call_partner",
  "sync_account", "sync_accounts",
];

let stack: FloeExamplesStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = synthExampleStack());
}, 120_000);

const logicalId = (construct: IConstruct) => Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;

describe("Orchestrator, per task", () => {
  it("reads every task and workflow of the tasks module at synth time", () => {
    expect([...stack.orchestrator.tasks.keys()].sort()).toEqual([...exampleTasks].sort());
    expect(stack.orchestrator.definitions.find((d) => d.name === "process_order")?.kind).toBe("workflow");
  });

  it("runs each worker on Node.js 22, arm64, with a source map and its own log group", () => {
    for (const [name, worker] of stack.orchestrator.tasks) {
      template.hasResource("AWS::Lambda::Function", {
        Properties: {
          Runtime: "nodejs22.x",
          Architectures: ["arm64"],
          Handler: "index.handler",
          Description: `floe worker of task ${name}`,
          LoggingConfig: { LogGroup: { Ref: logicalId(worker.logGroup) } },
          Environment: { Variables: Match.objectLike({ NODE_OPTIONS: "--enable-source-maps" }) },
        },
      });
    }
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("writes each worker's logs in Lambda's JSON format to /floe/<namePrefix>/workers/<task>, its level left to the user", () => {
    for (const [name, worker] of stack.orchestrator.tasks) {
      template.hasResourceProperties("AWS::Logs::LogGroup", { LogGroupName: `/floe/${stack.orchestrator.namePrefix}/workers/${name}` });
      template.hasResourceProperties("AWS::Lambda::Function", {
        Description: `floe worker of task ${name}`,
        LoggingConfig: { LogFormat: "JSON", LogGroup: { Ref: logicalId(worker.logGroup) }, ApplicationLogLevel: Match.absent() },
      });
    }
  });

  it("names each queue so that FLOE_QUEUE_URL_PREFIX + the task's name is its URL", () => {
    const { namePrefix } = stack.orchestrator;
    const url = (ref: string) => {
      // FLOE_API_URL, which the handlers check is a URL.
      if (ref.endsWith(".ApiEndpoint")) return "https://abcdef1234.execute-api.eu-west-1.amazonaws.com";
      const queue = resourcesOf(template, "AWS::SQS::Queue")[ref];
      return queue === undefined ? ref : `https://sqs.eu-west-1.amazonaws.com/123456789012/${(queue.Properties.QueueName as string | undefined) ?? ref}`;
    };
    for (const [name, worker] of stack.orchestrator.tasks) {
      expect(resourcesOf(template, "AWS::SQS::Queue")[logicalId(worker.queue)]!.Properties.QueueName).toBe(`${namePrefix}-${name}`);
      const fn = resourcesOf(template, "AWS::Lambda::Function")[logicalId(worker.function)]!;
      const env = evaluate(fn.Properties.Environment.Variables, url) as Record<string, string>;
      expect(`${env.FLOE_QUEUE_URL_PREFIX}${name}`).toBe(url(logicalId(worker.queue)));
      // The handlers accept what the construct sets.
      const read = readEnvironment(env);
      expect(read.FLOE_VISIBILITY_TIMEOUT_SECONDS).toBe(6 * (fn.Properties.Timeout as number));
      expect(read.FLOE_TASKS_MODULE).toBeUndefined();
    }
  });

  it("encrypts each queue, redrives it after at least 5 deliveries, and keeps its visibility at 6 × the timeout", () => {
    const queues = resourcesOf(template, "AWS::SQS::Queue");
    const functions = resourcesOf(template, "AWS::Lambda::Function");
    for (const worker of stack.orchestrator.tasks.values()) {
      const queue = queues[logicalId(worker.queue)]!.Properties;
      expect(queue.SqsManagedSseEnabled).toBe(true);
      expect(queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
      expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual({ "Fn::GetAtt": [logicalId(worker.deadLetterQueue), "Arn"] });
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * functions[logicalId(worker.function)]!.Properties.Timeout);
      expect(queues[logicalId(worker.deadLetterQueue)]!.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  it("denies every queue's non-TLS requests", () => {
    const policies = Object.values(resourcesOf(template, "AWS::SQS::QueuePolicy"));
    expect(policies).toHaveLength(Object.keys(resourcesOf(template, "AWS::SQS::Queue")).length);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      );
    }
  });

  it("feeds each worker from its queue with partial batch failures and a maximum concurrency", () => {
    for (const worker of stack.orchestrator.tasks.values()) {
      template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: { "Fn::GetAtt": [logicalId(worker.queue), "Arn"] },
        FunctionName: { Ref: logicalId(worker.function) },
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: Match.anyValue() },
        BatchSize: Match.anyValue(),
      });
    }
  });

  it("applies per-task overrides", () => {
    const stop = stack.orchestrator.tasks.get("stop_at_floor")!;
    template.hasResourceProperties("AWS::Lambda::Function", { Description: "floe worker of task stop_at_floor", Timeout: 30 });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [logicalId(stop.queue), "Arn"] },
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    template.hasResourceProperties("AWS::SQS::Queue", { QueueName: `${stack.orchestrator.namePrefix}-stop_at_floor`, VisibilityTimeout: 180 });
  });
});

describe("Orchestrator, shared resources", () => {
  it("creates the table from the shared definition: on demand, both images streamed, PITR, a TTL", () => {
    const shared = executionTableDefinition("x");
    const table = Object.values(resourcesOf(template, "AWS::DynamoDB::Table"))[0]!.Properties;
    const byName = (a: { AttributeName?: string; IndexName?: string }, b: typeof a) =>
      (a.AttributeName ?? a.IndexName ?? "").localeCompare(b.AttributeName ?? b.IndexName ?? "");
    expect(table.KeySchema).toEqual(shared.KeySchema);
    expect([...table.AttributeDefinitions].sort(byName)).toEqual([...shared.AttributeDefinitions!].sort(byName));
    expect([...table.GlobalSecondaryIndexes].sort(byName)).toEqual([...shared.GlobalSecondaryIndexes!].sort(byName));
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
    template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  it("runs the reconciler every 10 minutes, with the table and the task queues it needs", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(10 minutes)",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [logicalId(stack.orchestrator.reconciler), "Arn"] }, RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
    const environment = (resourcesOf(template, "AWS::Lambda::Function")[logicalId(stack.orchestrator.reconciler)]?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(environment)).toEqual(expect.arrayContaining(["FLOE_TABLE_NAME", "FLOE_QUEUE_URL_PREFIX"]));
  });

  it("runs the coordinator on the stream, filtered to terminal transitions, with bisection, bounded retries and an on-failure queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [logicalId(stack.orchestrator.table), "StreamArn"] },
      FunctionName: { Ref: logicalId(stack.orchestrator.coordinator) },
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: Match.anyValue(),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [logicalId(stack.orchestrator.coordinatorFailures), "Arn"] } } },
    });
    const mapping = Object.values(resourcesOf(template, "AWS::Lambda::EventSourceMapping")).find((m) => m.Properties.StartingPosition !== undefined)!;
    expect(mapping.Properties.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(mapping.Properties.MaximumRetryAttempts).toBeLessThanOrEqual(10);
    const patterns = (mapping.Properties.FilterCriteria.Filters as { Pattern: string }[]).map((f) => JSON.parse(f.Pattern));
    for (const pattern of patterns) {
      expect(pattern.dynamodb.NewImage).toEqual({ type: { S: ["execution"] }, state: { S: ["completed", "failed", "cancelled"] } });
    }
  });

  it("runs the dead-letter handler on every dead-letter queue, which it may consume by their name's pattern", () => {
    const { namePrefix, deadLetterHandler, deadLetterQueueArns } = stack.orchestrator;
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: logicalId(deadLetterHandler.role!) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(["sqs:ReceiveMessage", "sqs:DeleteMessage"]), Resource: stack.resolve(deadLetterQueueArns) }),
        ]),
      },
    });
    expect(JSON.stringify(stack.resolve(deadLetterQueueArns))).toContain(`:${namePrefix}_*`);
    for (const [name, worker] of stack.orchestrator.tasks) {
      expect(resourcesOf(template, "AWS::SQS::Queue")[logicalId(worker.deadLetterQueue)]!.Properties.QueueName).toBe(`${namePrefix}_${name}`);
      template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: { "Fn::GetAtt": [logicalId(worker.deadLetterQueue), "Arn"] },
        FunctionName: { Ref: logicalId(stack.orchestrator.deadLetterHandler) },
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      });
    }
  });

  it("keeps payloads in an encrypted, private, TLS-only bucket with a lifecycle rule", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [Match.objectLike({ Prefix: "payloads/", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })] },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
    });
  });

  it("serves the routes of DESIGN section 4, every one authorised with IAM but the callback route, with none", () => {
    const routes = Object.values(resourcesOf(template, "AWS::ApiGatewayV2::Route"));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      "GET /executions/{id}", "GET /executions/{id}/logs", "GET /executions/{id}/result", "GET /runs", "GET /runs/{id}", "GET /workflows", "POST /callbacks/{token}",
      "POST /executions/{id}/cancel", "POST /executions/{id}/complete", "POST /executions/{id}/rerun", "POST /workflows/{name}/cancel", "POST /workflows/{name}/executions",
    ]);
    for (const route of routes) {
      expect(route.Properties.AuthorizationType).toBe(route.Properties.RouteKey === "POST /callbacks/{token}" ? "NONE" : "AWS_IAM");
    }
  });

  it("throttles the callback route on its own, below the stage, once the route exists", () => {
    const [id, stage] = Object.entries(template.findResources("AWS::ApiGatewayV2::Stage"))[0]!;
    expect(stage.Properties.RouteSettings).toEqual({ "POST /callbacks/{token}": { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 } });
    expect(stage.DependsOn).toContain(logicalId(stack.orchestrator.api.callbackRoute));
    expect(id).toBe(logicalId(stack.orchestrator.api.stage));
  });

  it("tells every worker and the API's handler the API's URL (FLOE_API_URL), the base of callback URLs", () => {
    const apiId = logicalId(stack.orchestrator.api.httpApi);
    for (const fn of [...stack.orchestrator.taskFunctions, stack.orchestrator.apiHandler]) {
      const variables = resourcesOf(template, "AWS::Lambda::Function")[logicalId(fn)]!.Properties.Environment.Variables as Record<string, unknown>;
      // A worker's nested stack gets it as a parameter, which the parent sets to the API's endpoint.
      expect(evaluate(variables.FLOE_API_URL, (ref) => (ref === `${apiId}.ApiEndpoint` ? "https://api.example" : ref))).toBe("https://api.example");
    }
    for (const fn of [stack.orchestrator.coordinator, stack.orchestrator.deadLetterHandler, stack.orchestrator.reconciler]) {
      const variables = resourcesOf(template, "AWS::Lambda::Function")[logicalId(fn)]!.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables.FLOE_API_URL).toBeUndefined();
    }
  });

  it("logs API access as JSON and throttles the stage", () => {
    const stage = Object.values(resourcesOf(template, "AWS::ApiGatewayV2::Stage"))[0]!.Properties;
    expect(stage.StageName).toBe("$default");
    expect(JSON.parse(stage.AccessLogSettings.Format as string)).toMatchObject({ requestId: "$context.requestId", status: "$context.status" });
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
  });

  it("alarms on every dead-letter queue's depth and on coordinator errors", () => {
    for (const worker of stack.orchestrator.tasks.values()) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [logicalId(worker.deadLetterQueue), "QueueName"] } }],
        Threshold: 1,
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Namespace: "AWS/Lambda",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalId(stack.orchestrator.coordinator) } }],
    });
  });
});

describe("Orchestrator, permissions", () => {
  const statements = () =>
    Object.values(resourcesOf(template, "AWS::IAM::Policy")).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
  const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

  it("grants no wildcard action", () => {
    for (const s of statements()) for (const action of list(s.Action)) expect(action).not.toMatch(/(^\*$|:\*$)/);
  });

  it("grants data-plane actions only on this construct's table, queues and bucket", () => {
    const own = new Set(Object.keys(template.toJSON().Resources as object));
    for (const s of statements()) {
      const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      const patterns = [stack.orchestrator.taskQueueArns, stack.orchestrator.deadLetterQueueArns].map((p) => JSON.stringify(stack.resolve(p)));
      if (resources.every((r) => patterns.includes(JSON.stringify(r)))) continue;
      // Wake-ups: schedules of the construct's own group, named at run time.
      if (resources.every((r) => JSON.stringify(r) === JSON.stringify(stack.resolve(stack.orchestrator.wakes.scheduleArns)))) {
        expect(list(s.Action)).toEqual(["scheduler:CreateSchedule"]);
        continue;
      }
      // The run-events bus: the account's default one here, not a resource of this stack.
      const bus = JSON.stringify(stack.resolve(stack.orchestrator.runEvents.eventBusArn));
      if (resources.every((r) => JSON.stringify(r) === bus)) {
        expect(list(s.Action)).toEqual(["events:PutEvents"]);
        continue;
      }
      // Task logs: the worker log groups, named by their prefix (read by the API).
      if (resources.every((r) => JSON.stringify(r) === JSON.stringify(stack.resolve(stack.orchestrator.workerLogGroupArns)))) {
        expect(list(s.Action)).toEqual(["logs:FilterLogEvents"]);
        continue;
      }
      if (resources.includes("*")) {
        // IAM cannot scope ListStreams; it reads no data.
        expect(list(s.Action)).toEqual(["dynamodb:ListStreams"]);
        continue;
      }
      for (const resource of resources) {
        const refs = JSON.stringify(resource).match(/"(Ref|Fn::GetAtt)":\s*\[?"([^"]+)"/g) ?? [];
        expect(refs.length, JSON.stringify(resource)).toBeGreaterThan(0);
        for (const ref of refs) expect(own.has(ref.replace(/.*"([^"]+)"$/, "$1"))).toBe(true);
      }
    }
  });

  it("lets the API read task logs: logs:FilterLogEvents on the worker log groups only, whose prefix it is told", () => {
    const prefix = `/floe/${stack.orchestrator.namePrefix}/workers/`;
    const api = resourcesOf(template, "AWS::Lambda::Function")[logicalId(stack.orchestrator.apiHandler)]!;
    expect(api.Properties.Environment.Variables.FLOE_WORKER_LOG_GROUP_PREFIX).toBe(prefix);
    const reads = statements().filter((s) => list(s.Action).includes("logs:FilterLogEvents"));
    expect(reads).toHaveLength(1);
    expect(list(reads[0]!.Action)).toEqual(["logs:FilterLogEvents"]);
    expect(JSON.stringify(reads[0]!.Resource)).toContain(`:log-group:${prefix}*`);
    const apiPolicies = Object.values(resourcesOf(template, "AWS::IAM::Policy")).filter((p) => JSON.stringify(p.Properties.Roles).includes(logicalId(stack.orchestrator.apiHandler.role!)));
    expect(apiPolicies.some((p) => JSON.stringify(p.Properties.PolicyDocument).includes("logs:FilterLogEvents"))).toBe(true);
    for (const fn of [...stack.orchestrator.taskFunctions, stack.orchestrator.coordinator]) {
      expect(resourcesOf(template, "AWS::Lambda::Function")[logicalId(fn)]!.Properties.Environment.Variables.FLOE_WORKER_LOG_GROUP_PREFIX).toBeUndefined();
    }
  });

  it("attaches no managed policy: each role writes its own log group", () => {
    for (const role of Object.values(resourcesOf(template, "AWS::IAM::Role"))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe("Orchestrator, least privilege: each role holds what its function's code path uses", () => {
  const grants = (fn: Parameters<typeof dataGrants>[2]) => dataGrants(stack, template, fn);
  const on = (resource: string, ...actions: string[]) => actions.map((action) => `${action} on ${resource}`);
  const sendToEveryQueue = () => ["sqs:SendMessage on queue:*"];
  // A release under a concurrency limit notes a held execution and forgets a note.
  const release = () => [...on("table", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"), ...sendToEveryQueue()];
  const engine = () => [
    ...on("table", "dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    ...(executionTableDefinition("x").GlobalSecondaryIndexes ?? []).flatMap((index) => on(`table/index/${index.IndexName}`, "dynamodb:Query")),
    ...sendToEveryQueue(),
    ...on("bucket/payloads/*", "s3:GetObject", "s3:PutObject"),
  ];

  it("lets each worker and the API's handler run the whole engine: the table, its indexes, every task queue, payloads both ways", () => {
    const consume = ["ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl", "ReceiveMessage"].map((a) => `sqs:${a}`);
    for (const [name, worker] of stack.orchestrator.tasks) {
      // A worker also consumes its own queue, and no other.
      expect(grants(worker.function)).toEqual([...engine(), ...on(`queue:${name}`, ...consume)].sort());
    }
    expect(grants(stack.orchestrator.apiHandler)).toEqual(engine().sort());
  });

  it("lets the coordinator release and queue, and note and forget held executions: no payload, no index", () => {
    expect(grants(stack.orchestrator.coordinator)).toEqual(release().sort());
  });

  it("lets the dead-letter handler release and write an error too large for its record, but read no payload", () => {
    expect(grants(stack.orchestrator.deadLetterHandler)).toEqual([...release(), ...on("bucket/payloads/*", "s3:PutObject")].sort());
  });

  it("lets the reconciler find lost runs through the runs index and send them again: no table write, no payload", () => {
    expect(grants(stack.orchestrator.reconciler)).toEqual(
      [...on("table", "dynamodb:BatchGetItem"), ...on("table/index/byQueued", "dynamodb:Query"), ...sendToEveryQueue()].sort(),
    );
  });
});

describe("Orchestrator, cdk-nag", () => {
  for (const pack of [AwsSolutionsChecks, ServerlessChecks]) {
    it(`has no unacknowledged ${pack.name} finding, and a reason for every acknowledgement`, () => {
      const report = new pack().validateScope(stack);
      expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.resourceLogicalId).join(",")}`)).toEqual([]);
      const acknowledged = stack.node
        .findAll()
        .flatMap((c) => c.node.metadata.filter((m) => m.type === "aws:cdk:acknowledged-rules").map((m) => m.data as Record<string, string>));
      expect(acknowledged.length).toBeGreaterThan(0);
      for (const entry of acknowledged) for (const reason of Object.values(entry)) expect(reason.length).toBeGreaterThan(40);
    });
  }
});

describe("Orchestrator, bundles", () => {
  const assetDir = (fn: IConstruct) => {
    const resource = resourcesOf(template, "AWS::Lambda::Function")[logicalId(fn)]!;
    return join((stack.node.root as App).outdir, resource.Metadata?.["aws:asset:path"] as string);
  };

  it("bundles the tasks into the workers and the API, shares one bundle between workers, and ships source maps", () => {
    const workers = [...stack.orchestrator.tasks.values()].map((t) => assetDir(t.function));
    expect(new Set(workers).size).toBe(1);
    for (const dir of [workers[0]!, assetDir(stack.orchestrator.apiHandler)]) {
      const code = readFileSync(join(dir, "index.mjs"), "utf8");
      for (const name of exampleTasks) expect(code).toContain(`"${name}"`);
      expect(existsSync(join(dir, "index.mjs.map"))).toBe(true);
    }
    expect(readFileSync(join(assetDir(stack.orchestrator.coordinator), "index.mjs"), "utf8")).not.toContain('"stop_at_floor"');
  });
});

describe("the example stack", () => {
  it("matches its snapshot, asset hashes and CDK metadata left out: the parent stack and each nested one", () => {
    const stable = (template: Template) => {
      const { Resources, ...rest } = template.toJSON() as { Resources: Record<string, Record<string, unknown>> };
      const resources = Object.fromEntries(
        Object.entries(Resources)
          .filter(([, r]) => r.Type !== "AWS::CDK::Metadata")
          .map(([id, { Metadata: _metadata, ...r }]) => [id, r]),
      );
      return JSON.parse(JSON.stringify({ ...rest, Resources: resources }).replace(/\b[0-9a-f]{64}\b/g, "<asset hash>")) as unknown;
    };
    const nested = nestedTemplates(stack).map(({ nested, template }) => [nested.node.id, stable(template)] as const);
    expect({ parent: stable(Template.fromStack(stack)), ...Object.fromEntries(nested) }).toMatchSnapshot();
  });
});
