/**
 * Completion events in the template: the coordinator, and no other function, may put
 * events on the run-events bus alone, and is told its name. Bundling is skipped: these
 * tests read the template only (cdk-nag over the full example stack is in orchestrator.test.ts).
 */
import { App, Stack, type CfnElement } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import { fileURLToPath } from "node:url";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { Orchestrator, type OrchestratorProps } from "../../infra/index.ts";
import { EnvironmentVariable } from "../../sdk/aws/contract.ts";

const tasksModule = fileURLToPath(new URL("./tasks.ts", import.meta.url));

function synth(props: Partial<OrchestratorProps> = {}, bus?: (stack: Stack) => events.IEventBus) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Events", { env: { account: "123456789012", region: "eu-west-1" } });
  const runEvents = bus === undefined ? props.runEvents : { bus: bus(stack) };
  const floe = new Orchestrator(stack, "Floe", { tasksModule, ...props, ...(runEvents === undefined ? {} : { runEvents }) });
  return { stack, floe };
}

const logicalId = (construct: IConstruct) => Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;

/** The roles' `events:PutEvents` statements: role logical id to resources. */
function putEventsGrants(stack: Stack, template: Template): Record<string, unknown[]> {
  const grants: Record<string, unknown[]> = {};
  for (const policy of Object.values(template.findResources("AWS::IAM::Policy"))) {
    for (const statement of policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]) {
      if (![statement.Action].flat().includes("events:PutEvents")) continue;
      for (const role of policy.Properties.Roles as { Ref: string }[]) (grants[role.Ref] ??= []).push(...[statement.Resource].flat().map((r) => stack.resolve(r)));
    }
  }
  return grants;
}

const roleId = (floe: Orchestrator) => logicalId(floe.coordinator.role!);

describe("Orchestrator run events", () => {
  it("lets the coordinator alone put events on the default bus, and names the bus in its environment", () => {
    const { stack, floe } = synth();
    const template = Template.fromStack(stack);
    expect(putEventsGrants(stack, template)).toEqual({
      [roleId(floe)]: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":events:eu-west-1:123456789012:event-bus/default"]] }],
    });
    const fn = template.findResources("AWS::Lambda::Function")[logicalId(floe.coordinator)]!;
    expect(fn.Properties.Environment.Variables[EnvironmentVariable.RunEventsBus]).toBe("default");
    expect(floe.runEvents.eventBusName).toBe("default");
    // Only the coordinator is told of a bus.
    const told = Object.values(template.findResources("AWS::Lambda::Function")).filter(
      (f) => f.Properties.Environment?.Variables?.[EnvironmentVariable.RunEventsBus] !== undefined,
    );
    expect(told).toHaveLength(1);
  });

  it("publishes to the bus given instead, granting on it alone, and a rule on it passes cdk-nag", () => {
    const { stack, floe } = synth({}, (s) => new events.EventBus(s, "Runs", { eventBusName: "runs" }));
    new events.Rule(stack, "RunFailed", { eventBus: floe.runEvents, eventPattern: { source: ["floe"], detailType: ["Run Failed"] } });
    const template = Template.fromStack(stack);
    const busId = logicalId(floe.runEvents);
    expect(putEventsGrants(stack, template)).toEqual({ [roleId(floe)]: [{ "Fn::GetAtt": [busId, "Arn"] }] });
    template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: busId },
      EventPattern: { source: ["floe"], "detail-type": ["Run Failed"] },
    });
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.filter((v) => /RunEvents|Runs|RunFailed/.test(JSON.stringify(v.violatingResources)))).toEqual([]);
  });
});
