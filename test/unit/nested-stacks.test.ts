/**
 * The bundled cloud's template reader follows nested stacks: a small hand-written cloud
 * assembly whose stack nests one that nests another, each reusing the logical id `Queue`,
 * their parameters given by their parent and an output read by the parent.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { physicalName } from "../../sdk/local-cloud/provision.ts";
import { readStack, resolveValue, resourcesOfType, scheduledTargets, type Resolver } from "../../sdk/local-cloud/template.ts";

const assembly = mkdtempSync(join(tmpdir(), "floe-nested-"));
afterAll(() => rmSync(assembly, { recursive: true, force: true }));

const write = (file: string, content: object) => writeFileSync(join(assembly, file), JSON.stringify(content));
write("manifest.json", { artifacts: { App: { type: "aws:cloudformation:stack", properties: { templateFile: "App.template.json" } } } });
write("App.template.json", {
  Parameters: { BootstrapVersion: { Type: "String", Default: "/cdk-bootstrap/version" } },
  Resources: {
    Queue: { Type: "AWS::SQS::Queue" },
    Tasks: {
      Type: "AWS::CloudFormation::Stack",
      Properties: { Parameters: { parentQueueArn: { "Fn::GetAtt": ["Queue", "Arn"] }, parentQueueUrl: { Ref: "Queue" } } },
      Metadata: { "aws:asset:path": "AppTasks.nested.template.json" },
    },
    Api: {
      Type: "AWS::Lambda::Function",
      Properties: { Environment: { Variables: { WORKER: { "Fn::GetAtt": ["Tasks", "Outputs.WorkerName"] }, QUEUE: { Ref: "Queue" } } } },
    },
  },
});
write("AppTasks.nested.template.json", {
  Parameters: { parentQueueArn: { Type: "String" }, parentQueueUrl: { Type: "String" }, suffix: { Type: "String", Default: "-dlq" } },
  Resources: {
    Queue: { Type: "AWS::SQS::Queue", Properties: { QueueName: { "Fn::Join": ["", ["tasks", { Ref: "suffix" }]] } } },
    Worker: {
      Type: "AWS::Lambda::Function",
      Properties: {
        Environment: {
          Variables: {
            PARENT_QUEUE: { Ref: "parentQueueUrl" },
            OWN_QUEUE: { "Fn::GetAtt": ["Queue", "Arn"] },
            BOTH: { "Fn::Sub": "${Queue}+${parentQueueArn}" },
            REGION: { Ref: "AWS::Region" },
          },
        },
      },
    },
    Inner: {
      Type: "AWS::CloudFormation::Stack",
      Properties: { Parameters: { outerQueue: { Ref: "Queue" }, topQueue: { Ref: "parentQueueArn" } } },
      Metadata: { "aws:asset:path": "AppTasksInner.nested.template.json" },
    },
    Rule: { Type: "AWS::Events::Rule", Properties: { ScheduleExpression: "rate(5 minutes)", Targets: [{ Arn: { "Fn::GetAtt": ["Worker", "Arn"] } }] } },
  },
  Outputs: { WorkerName: { Value: { Ref: "Worker" } } },
});
write("AppTasksInner.nested.template.json", {
  Parameters: { outerQueue: { Type: "String" }, topQueue: { Type: "String" } },
  Resources: {
    Queue: { Type: "AWS::SQS::Queue", Properties: { RedrivePolicy: { deadLetterTargetArn: { Ref: "topQueue" }, self: { Ref: "Queue" }, outer: { Ref: "outerQueue" } } } },
  },
});

/** What the provisioned emulators would answer: each resource's path, marked. */
const refs: Resolver = (reference) => (reference.startsWith("AWS::") ? "us-east-1" : `<${reference}>`);

describe("nested stacks in the bundled cloud's templates", () => {
  const stack = readStack(assembly);
  const properties = (path: string) => resolveValue(stack.resources[path]?.Properties ?? {}, stack.resolverFor(path, refs));

  it("holds every stack's resources, a nested one's by its stack's path", () => {
    expect(Object.keys(stack.resources).sort()).toEqual(
      ["Api", "Queue", "Tasks", "Tasks/Inner", "Tasks/Inner/Queue", "Tasks/Queue", "Tasks/Rule", "Tasks/Worker"].sort(),
    );
    expect(resourcesOfType(stack, "AWS::SQS::Queue").map(([path]) => path)).toEqual(["Queue", "Tasks/Queue", "Tasks/Inner/Queue"]);
  });

  it("resolves a nested stack's references in its own scope, its parameters as its parent passes them", () => {
    expect(properties("Tasks/Worker")).toEqual({
      Environment: {
        Variables: { PARENT_QUEUE: "<Queue>", OWN_QUEUE: "<Tasks/Queue.Arn>", BOTH: "<Tasks/Queue>+<Queue.Arn>", REGION: "us-east-1" },
      },
    });
    expect(properties("Tasks/Queue")).toEqual({ QueueName: "tasks-dlq" });
  });

  it("follows nested stacks down: a parameter of a parameter resolves in the scope two stacks up", () => {
    expect(properties("Tasks/Inner/Queue")).toEqual({ RedrivePolicy: { deadLetterTargetArn: "<Queue.Arn>", self: "<Tasks/Inner/Queue>", outer: "<Tasks/Queue>" } });
  });

  it("reads a nested stack's output in the parent, resolved in the nested stack's scope", () => {
    expect(properties("Api")).toEqual({ Environment: { Variables: { WORKER: "<Tasks/Worker>", QUEUE: "<Queue>" } } });
  });

  it("finds a nested stack's scheduled rules, their targets resolved in their scope", () => {
    expect(scheduledTargets(stack, (path) => stack.resolverFor(path, refs))).toEqual([{ arn: "<Tasks/Worker.Arn>", everyMs: 300_000 }]);
  });

  it("names an output a nested stack does not have, and the outputs it has", () => {
    const resolve = stack.resolverFor("Api", refs);
    expect(() => resolve("Tasks.Outputs.Missing")).toThrow(/nested stack Tasks has no output "Missing"; it has WorkerName/);
  });
});

describe("a nested stack's template missing from the assembly", () => {
  it("is named, with the fix", () => {
    const broken = mkdtempSync(join(tmpdir(), "floe-nested-broken-"));
    try {
      writeFileSync(join(broken, "manifest.json"), JSON.stringify({ artifacts: { App: { type: "aws:cloudformation:stack" } } }));
      writeFileSync(
        join(broken, "App.template.json"),
        JSON.stringify({ Resources: { Tasks: { Type: "AWS::CloudFormation::Stack", Metadata: { "aws:asset:path": "Gone.nested.template.json" } } } }),
      );
      expect(() => readStack(broken)).toThrow(expect.objectContaining({ code: "FLOE_INVALID_OPTION", message: expect.stringMatching(/holds no template Gone\.nested\.template\.json: synthesize the app again/) }));
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe("names made for a nested stack's resources", () => {
  it("stay distinct when cut to the service's limit, though they share a long prefix", () => {
    const prefix = "FloeExamples-FloeTasks22NestedStackTasks22NestedStackResourceEB8803C4-";
    const [a, b] = [physicalName(`${prefix}loadproductWorkerFunctionD54C39BC`, 64), physicalName(`${prefix}loaduserWorkerFunction11AA22BB`, 64)];
    expect(a).not.toBe(b);
    expect([a.length, b.length]).toEqual([64, 64]);
    expect(physicalName("FloeExamples-FloeTableEA3F83C8", 64)).toBe("FloeExamples-FloeTableEA3F83C8");
  });
});
