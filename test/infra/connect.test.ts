/**
 * `Orchestrator.connect(fn)`: a function of the app's own gets the variables that name the
 * orchestrator's table, bucket and task queues (by which floe's SDK sends its top-level
 * calls to the deployed orchestrator) and the engine's grants. Bundling is skipped.
 */
import { App, Stack, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type { IConstruct } from "constructs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Orchestrator } from "../../infra/index.ts";
import { readEnvironment } from "../../sdk/aws/aws-runtime.ts";
import { EnvironmentVariable } from "../../sdk/aws/contract.ts";
import { evaluate } from "./example-stack.ts";

const tasksModule = fileURLToPath(new URL("./tasks.ts", import.meta.url));
const app = () => new App({ context: { "aws:cdk:bundling-stacks": [] } });
const userFunction = (stack: Stack, id = "ShopApi") =>
  new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: "index.handler", code: lambda.Code.fromInline("export const handler = () => 1;") });
const id = (c: IConstruct) => Stack.of(c).resolve((c.node.defaultChild as CfnElement).logicalId) as string;

/** The statements of `fn`'s role's policies in `template`. */
function statements(template: Template, fn: lambda.Function): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(template.findResources("AWS::IAM::Policy"))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${id(fn.role!)}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
}

describe("Orchestrator.connect", () => {
  it("sets the orchestrator's table, bucket and queue prefix on the function, which the SDK reads as connected", () => {
    const stack = new Stack(app(), "Shop");
    const floe = new Orchestrator(stack, "Floe", { tasksModule, executionRetentionDays: 7 });
    const fn = userFunction(stack);
    floe.connect(fn);
    const template = Template.fromStack(stack);
    const variables = template.findResources("AWS::Lambda::Function")[id(fn)]!.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual(
      [EnvironmentVariable.BucketName, EnvironmentVariable.QueueUrlPrefix, EnvironmentVariable.RetentionDays, EnvironmentVariable.TableName].sort(),
    );
    expect(variables[EnvironmentVariable.TableName]).toEqual({ Ref: id(floe.table) });
    expect(variables[EnvironmentVariable.BucketName]).toEqual({ Ref: id(floe.bucket) });
    const failures = id(floe.coordinatorFailures);
    const env = evaluate(variables, (ref) => (ref === failures ? "https://sqs.eu-west-1.amazonaws.com/123456789012/failures" : ref)) as Record<string, string>;
    expect(env[EnvironmentVariable.QueueUrlPrefix]).toBe(`https://sqs.eu-west-1.amazonaws.com/123456789012/${floe.namePrefix}-`);
    expect(readEnvironment(env)).toMatchObject({ FLOE_TABLE_NAME: id(floe.table), FLOE_RETENTION_DAYS: 7 });
  });

  it("grants the function what the engine does: the table and its indexes, every task queue, payloads both ways", () => {
    const stack = new Stack(app(), "Shop");
    const floe = new Orchestrator(stack, "Floe", { tasksModule });
    const fn = userFunction(stack);
    floe.connect(fn);
    const granted = statements(Template.fromStack(stack), fn);
    const on = (action: string, resource: unknown) =>
      granted.some((s) => [s.Action].flat().includes(action) && [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(stack.resolve(resource))));
    for (const action of ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"]) {
      expect(on(action, floe.table.tableArn), action).toBe(true);
    }
    expect(on("dynamodb:Query", `${floe.table.tableArn}/index/byStart`)).toBe(true);
    expect(on("sqs:SendMessage", floe.taskQueueArns)).toBe(true);
    expect(on("s3:GetObject", floe.bucket.arnForObjects("payloads/*"))).toBe(true);
    expect(on("s3:PutObject", floe.bucket.arnForObjects("payloads/*"))).toBe(true);
  });

  it("changes nothing when the function is connected again to the same orchestrator", () => {
    const stack = new Stack(app(), "Shop");
    const floe = new Orchestrator(stack, "Floe", { tasksModule });
    const fn = userFunction(stack);
    const grant = floe.connect(fn);
    const once = JSON.stringify(statements(Template.fromStack(stack), fn));
    expect(floe.connect(fn)).toBe(grant);
    expect(JSON.stringify(statements(Template.fromStack(stack), fn))).toBe(once);
  });

  it("refuses a function connected to another orchestrator, naming both", () => {
    const stack = new Stack(app(), "Shop");
    const [first, second] = [new Orchestrator(stack, "Orders", { tasksModule }), new Orchestrator(stack, "Billing", { tasksModule })];
    const fn = userFunction(stack);
    first.connect(fn);
    expect(() => second.connect(fn)).toThrow(
      "connect: Shop/ShopApi is connected to the orchestrator Shop/Orders already, and a function runs one orchestrator's engine",
    );
  });

  it("connects a function of another stack in the same account and region, through cross-stack references", () => {
    const shared = app();
    const floe = new Orchestrator(new Stack(shared, "Floe"), "Floe", { tasksModule });
    const stack = new Stack(shared, "Shop");
    const fn = userFunction(stack);
    floe.connect(fn);
    const variables = Template.fromStack(stack).findResources("AWS::Lambda::Function")[id(fn)]!.Properties.Environment.Variables;
    expect(JSON.stringify(variables[EnvironmentVariable.TableName])).toContain("Fn::ImportValue");
    expect(stack.dependencies.map((s) => s.stackName)).toEqual(["Floe"]);
  });

  it("refuses a function deployed to another region, saying why", () => {
    const shared = app();
    const floe = new Orchestrator(new Stack(shared, "Floe", { env: { account: "123456789012", region: "eu-west-1" } }), "Floe", { tasksModule });
    const fn = userFunction(new Stack(shared, "Shop", { env: { account: "123456789012", region: "us-east-1" } }));
    expect(() => floe.connect(fn)).toThrow(/is deployed to 123456789012\/us-east-1 and the orchestrator Floe\/Floe to 123456789012\/eu-west-1/);
  });
});
