/**
 * The example stack, synthesized once per test file (bundling takes seconds), and helpers
 * to read its template.
 */
import { App, NestedStack, Stack, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { FloeExamplesStack } from "../../infra/app.ts";

/** The example stack and its template (nested stacks flattened in), bundled for real. */
export function synthExampleStack(): { stack: FloeExamplesStack; template: Template } {
  // As the CLI does: each function's metadata names its asset's folder.
  const app = new App({ context: { "aws:cdk:enable-asset-metadata": true } });
  const stack = new FloeExamplesStack(app, "FloeExamples");
  return { stack, template: flatTemplate(stack) };
}

/** Each nested stack of `stack`, with its template. */
export function nestedTemplates(stack: Stack): { nested: NestedStack; template: Template }[] {
  return stack.node
    .findAll()
    .filter((c): c is NestedStack => NestedStack.isNestedStack(c) && c.nestedStackParent === stack)
    .map((nested) => ({ nested, template: Template.fromStack(nested) }));
}

/**
 * `stack`'s template with its nested stacks' resources merged in, each reference to a
 * nested stack's parameter replaced by the value the parent passes it: one template to
 * query, whatever stack a resource lives in.
 */
export function flatTemplate(stack: Stack): Template {
  const parent = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Properties: Record<string, unknown> }> };
  const resources = { ...parent.Resources };
  for (const { nested, template } of nestedTemplates(stack)) {
    const id = stack.resolve(nested.nestedStackResource!.logicalId) as string;
    const parameters = (resources[id]!.Properties.Parameters ?? {}) as Record<string, unknown>;
    const substitute = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(substitute);
      if (value === null || typeof value !== "object") return value;
      const ref = (value as { Ref?: string }).Ref;
      if (ref !== undefined && ref in parameters) return parameters[ref];
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]));
    };
    Object.assign(resources, substitute(template.toJSON().Resources));
  }
  return Template.fromJSON({ ...parent, Resources: resources });
}

/** A template's resources of one type, by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, { Properties: Record<string, any>; Metadata?: Record<string, any> }> {
  return template.findResources(type) as Record<string, { Properties: Record<string, any> }>;
}

/**
 * Evaluates the intrinsics floe's templates use (`Ref`, `Fn::GetAtt`, `Fn::Join`,
 * `Fn::Select`, `Fn::Split`) given the value of each reference.
 */
export function evaluate(value: unknown, refs: (logicalId: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => evaluate(v, refs));
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  if ("Ref" in object) return refs(object.Ref as string);
  if ("Fn::GetAtt" in object) return refs((object["Fn::GetAtt"] as string[]).join("."));
  if ("Fn::Join" in object) {
    const [separator, parts] = object["Fn::Join"] as [string, unknown[]];
    return (evaluate(parts, refs) as string[]).join(separator);
  }
  if ("Fn::Select" in object) {
    const [index, list] = object["Fn::Select"] as [number, unknown];
    return (evaluate(list, refs) as unknown[])[index];
  }
  if ("Fn::Split" in object) {
    const [separator, source] = object["Fn::Split"] as [string, unknown];
    return (evaluate(source, refs) as string).split(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, evaluate(v, refs)]));
}

type Labelled = IConstruct;

/**
 * What `fn`'s role may do to the orchestrator's data, as sorted `action on resource` lines:
 * the resources are `table`, `table/index/<name>`, `queue:*` (every task queue, by the ARN
 * pattern) or `queue:<task>`, and `bucket/<key pattern>`
 * (the function's own trigger, stream and log group are left out).
 */
export function dataGrants(stack: FloeExamplesStack, template: Template, fn: { role?: Labelled | undefined }): string[] {
  const floe = stack.orchestrator;
  const id = (construct: Labelled) => Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;
  const labels = new Map<string, string>([[`${id(floe.table)}.Arn`, "table"], [`${id(floe.bucket)}.Arn`, "bucket"]]);
  for (const [name, worker] of floe.tasks) labels.set(`${id(worker.queue)}.Arn`, `queue:${name}`);
  const roleId = id(fn.role!);
  const lines = Object.values(resourcesOf(template, "AWS::IAM::Policy"))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
    .flatMap((statement) => {
      const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      const taskQueues = JSON.stringify(stack.resolve(floe.taskQueueArns));
      const label = (r: unknown) => (JSON.stringify(r) === taskQueues ? "queue:*" : String(evaluate(r, (ref) => labels.get(ref) ?? "other")));
      const resources = [statement.Resource].flat().map(label);
      return actions.flatMap((action) => resources.filter((r) => /^(table|bucket|queue:)/.test(r)).map((r) => `${action} on ${r}`));
    });
  return [...new Set(lines)].sort();
}
