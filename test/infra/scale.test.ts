/**
 * An Orchestrator of 150 tasks: every stack under CloudFormation's 500 resources, no
 * managed policy added for overflowing role policies, and every worker still able to queue
 * any task. Past floe's limit, one error naming it. Bundling is skipped: the template only.
 */
import { App, Stack, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { Orchestrator, TaskWorker } from "../../infra/index.ts";
import { MAX_TASKS, TASKS_PER_GROUP, taskGroupOf, taskGroupProblems } from "../../infra/task-groups.ts";
import { flatTemplate, nestedTemplates } from "./example-stack.ts";

const fixture = (name: string) => fileURLToPath(new URL(name, import.meta.url));

function synth(tasksModule: string): { stack: Stack; floe: Orchestrator } {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Many");
  return { stack, floe: new Orchestrator(stack, "Floe", { tasksModule }) };
}

describe("an Orchestrator of 150 tasks", () => {
  let stack: Stack;
  let floe: Orchestrator;
  let flat: Template;

  beforeAll(() => {
    ({ stack, floe } = synth(fixture("./many-tasks.ts")));
    flat = flatTemplate(stack);
  }, 120_000);

  it("keeps the parent and every nested stack under 500 resources, with no managed policy", () => {
    expect(floe.tasks.size).toBe(150);
    const templates = [Template.fromStack(stack), ...nestedTemplates(stack).map((n) => n.template)];
    expect(templates.length).toBeGreaterThan(1);
    for (const template of templates) {
      const resources = Object.values(template.toJSON().Resources as Record<string, { Type: string }>);
      expect(resources.length).toBeLessThan(500);
      expect(resources.filter((r) => r.Type === "AWS::IAM::ManagedPolicy")).toEqual([]);
    }
    for (const role of Object.values(flat.findResources("AWS::IAM::Role"))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("places each task by its name alone, at most 40 to a nested stack", () => {
    for (const [name, worker] of floe.tasks) expect(Stack.of(worker).node.id).toBe(`Tasks${taskGroupOf(name)}`);
    for (const nested of floe.taskStacks) expect(nested.node.children.filter((c) => c instanceof TaskWorker).length).toBeLessThanOrEqual(TASKS_PER_GROUP);
  });

  it("lets every worker send to every task queue and use the table", () => {
    const id = (c: IConstruct) => Stack.of(c).resolve((c.node.defaultChild as CfnElement).logicalId) as string;
    const tableArn = JSON.stringify(stack.resolve(floe.table.tableArn));
    const queues = JSON.stringify(stack.resolve(floe.taskQueueArns));
    // The pattern names every task queue.
    expect(queues).toContain(`:${floe.namePrefix}-*"`);
    for (const worker of floe.tasks.values()) {
      const name = flat.findResources("AWS::SQS::Queue")[id(worker.queue)]!.Properties.QueueName as string;
      expect(name.startsWith(`${floe.namePrefix}-`)).toBe(true);
    }
    for (const worker of floe.tasks.values()) {
      const statements = Object.values(flat.findResources("AWS::IAM::Policy"))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${id(worker.function.role!)}"`))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
      const on = (action: string, resource: string) =>
        statements.some((s) => [s.Action].flat().includes(action) && [s.Resource].flat().some((r) => JSON.stringify(r) === resource));
      expect(on("sqs:SendMessage", queues)).toBe(true);
      for (const action of ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]) expect(on(action, tableArn)).toBe(true);
    }
  });
});

describe("past floe's limit", () => {
  it("refuses one task more than an Orchestrator holds, naming the limit, the count and the fix", () => {
    const tasksModule = fixture("./too-many-tasks.ts");
    expect(() => synth(tasksModule)).toThrow(
      `tasksModule: ${tasksModule} defines ${MAX_TASKS + 1} tasks and workflows, more than the ${MAX_TASKS} one Orchestrator holds`,
    );
    expect(() => synth(tasksModule)).toThrow(/split the tasks into two modules, each deployed by an Orchestrator of its own/);
  });

  it("refuses names that crowd one nested stack, naming them", () => {
    const crowded: string[] = [];
    for (let i = 0; crowded.length <= TASKS_PER_GROUP; i++) if (taskGroupOf(`t${i}`) === 0) crowded.push(`t${i}`);
    expect(taskGroupProblems("tasks.ts", crowded.slice(0, TASKS_PER_GROUP))).toEqual([]);
    const [problem] = taskGroupProblems("tasks.ts", crowded);
    expect(problem).toMatch(/^tasksModule: the names of 41 tasks fall in nested stack 0 .* at most 40: rename one of "t\d+"/);
  });
});
