/**
 * The Orchestrator's props: conflicts reported together at synth time, each by name, and
 * the settings that change the template (JWT authorisation, grants, retention, removal).
 * Bundling is skipped here: these tests read the template only.
 */
import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Orchestrator, type OrchestratorProps } from "../../infra/index.ts";
import { flatTemplate } from "./example-stack.ts";

const tasksModule = fileURLToPath(new URL("./tasks.ts", import.meta.url));

function orchestrator(props: Partial<OrchestratorProps> = {}): { stack: Stack; floe: Orchestrator } {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Props");
  return { stack, floe: new Orchestrator(stack, "Floe", { tasksModule, ...props }) };
}

/** Each route's required scopes, by route key. */
function routeScopes(stack: Stack): Record<string, unknown> {
  const routes = Object.values(Template.fromStack(stack).findResources("AWS::ApiGatewayV2::Route"));
  return Object.fromEntries(routes.map((r) => [r.Properties.RouteKey as string, r.Properties.AuthorizationScopes]));
}

function problems(props: Partial<OrchestratorProps>): string {
  try {
    orchestrator(props);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("the props were accepted");
}

describe("Orchestrator props", () => {
  it("reports every conflicting prop in one error, each by name", () => {
    const message = problems({
      taskOverrides: {
        resise: { memorySizeMb: 512 },
        resize: { timeoutSeconds: 60, batchSize: 11 },
        publish: { timeoutSeconds: 901, maxConcurrency: 20, reservedConcurrency: 5 },
      },
      maxReceiveCount: 3,
      namePrefix: "much-too-long-prefix",
      jwtAudience: ["floe"],
    });
    expect(message).toMatch(/^floe Orchestrator props: 8 problems:/);
    for (const expected of [
      'taskOverrides.resise: .* defines no task named "resise"; the defined ones are "publish", "resize"',
      "taskOverrides.resize.batchSize must be a whole number from 1 to 10 .* got 11",
      'taskOverrides.resize.timeoutSeconds \\(60 s\\) must exceed task "resize"\'s timeoutMs \\(120000 ms\\)',
      "taskOverrides.publish.timeoutSeconds must be a whole number from 1 to 900 \\(Lambda's limit is 15 minutes\\), got 901",
      "taskOverrides.publish.reservedConcurrency \\(5\\) is below the event source's maxConcurrency \\(20\\)",
      "maxReceiveCount must be a whole number from 5 to 1000 .* got 3",
      'namePrefix must be 1 to 15 letters, digits, "_" or "-" .* got "much-too-long-prefix"',
      "jwtAudience is set without jwtIssuer",
    ]) {
      expect(message).toMatch(new RegExp(expected));
    }
  });

  it("reports every faulty JWT scope in one error, each by name", () => {
    const message = problems({ jwtScopes: { start: [], read: ["floe read", "floe/read"], write: ["floe/write"] } as OrchestratorProps["jwtScopes"] });
    expect(message).toMatch(/^floe Orchestrator props: 4 problems:/);
    for (const expected of [
      "jwtScopes is set without jwtIssuer: scopes apply to a JWT authorizer; with IAM authorisation use grantStart",
      "jwtScopes.start must list at least one scope \\(a route without one lets in any token of the issuer\\), got \\[\\]",
      'jwtScopes.read holds "floe read", not a scope: printable ASCII without spaces',
      'jwtScopes.write: no such kind of route; the kinds are "start", "read", "cancel"',
    ]) {
      expect(message).toMatch(new RegExp(expected));
    }
  });

  it("refuses a tasks module that defines nothing, naming it", () => {
    const empty = fileURLToPath(new URL("./no-tasks.ts", import.meta.url));
    expect(problems({ tasksModule: empty })).toContain(`tasksModule: ${empty} defines no task or workflow`);
  });

  it("refuses a tasks module that fails to load, with its error", () => {
    expect(problems({ tasksModule: "/nonexistent/tasks.ts" })).toContain("floe could not bundle the tasks module /nonexistent/tasks.ts");
  });

  it("gives a task with its own timeout a function that outlives it", () => {
    const { stack } = orchestrator();
    flatTemplate(stack).hasResourceProperties("AWS::Lambda::Function", { Description: "floe worker of task resize", Timeout: 150 });
  });
});

describe("Orchestrator names", () => {
  const prefixIn = (stackName: string) => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    return new Orchestrator(new Stack(app, "Shop", { stackName }), "Floe", { tasksModule }).namePrefix;
  };

  it("gives two deployments of one app (stacks differing only in their name) different queue names", () => {
    const [dev, staging] = [prefixIn("shop-dev"), prefixIn("shop-staging")];
    expect(dev).toMatch(/^floe-[0-9A-F]{8}$/);
    expect(staging).toMatch(/^floe-[0-9A-F]{8}$/);
    expect(dev).not.toBe(staging);
    expect(prefixIn("shop-dev")).toBe(dev);
  });
});

describe("Orchestrator options", () => {
  it("authorises every route with a JWT authorizer when given an issuer", () => {
    const { stack, floe } = orchestrator({ jwtIssuer: "https://issuer.example.com/", jwtAudience: ["floe-api"] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      JwtConfiguration: { Issuer: "https://issuer.example.com/", Audience: ["floe-api"] },
    });
    const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route"));
    expect(routes).toHaveLength(12);
    for (const route of routes) {
      // The callback route's token in the path is its secret: no JWT there either.
      if (route.Properties.RouteKey === "POST /callbacks/{token}") expect(route.Properties).toMatchObject({ AuthorizationType: "NONE" });
      else expect(route.Properties).toMatchObject({ AuthorizationType: "JWT", AuthorizerId: expect.anything() });
    }
    expect(() => floe.grantStart(new iam.User(stack, "Caller"))).toThrow(/uses a JWT authorizer, .* issue tokens with the scope floe\/start instead/);
  });

  it("requires a JWT to carry the scope of what each route does: start, read, cancel, complete or rerun", () => {
    const { stack } = orchestrator({ jwtIssuer: "https://issuer.example.com/", jwtAudience: ["floe-api"] });
    expect(routeScopes(stack)).toEqual({
      "POST /workflows/{name}/executions": ["floe/start"],
      "GET /workflows": ["floe/read"],
      "GET /executions/{id}": ["floe/read"],
      "GET /executions/{id}/result": ["floe/read"],
      "GET /executions/{id}/logs": ["floe/read"],
      "GET /runs": ["floe/read"],
      "GET /runs/{id}": ["floe/read"],
      "POST /executions/{id}/cancel": ["floe/cancel"],
      "POST /executions/{id}/complete": ["floe/complete"],
      "POST /executions/{id}/rerun": ["floe/rerun"],
      "POST /workflows/{name}/cancel": ["floe/cancel"],
      "POST /callbacks/{token}": undefined,
    });
  });

  it("takes each kind's scopes from jwtScopes, keeping the default of a kind left out", () => {
    const jwtScopes = { start: ["shop/start"], read: ["shop/read", "shop/admin"], complete: ["shop/approve"], rerun: ["shop/ops"] };
    const { stack } = orchestrator({ jwtIssuer: "https://issuer.example.com/", jwtAudience: ["floe-api"], jwtScopes });
    expect(routeScopes(stack)).toEqual({
      "POST /workflows/{name}/executions": ["shop/start"],
      "GET /workflows": ["shop/read", "shop/admin"],
      "GET /executions/{id}": ["shop/read", "shop/admin"],
      "GET /executions/{id}/result": ["shop/read", "shop/admin"],
      "GET /executions/{id}/logs": ["shop/read", "shop/admin"],
      "GET /runs": ["shop/read", "shop/admin"],
      "GET /runs/{id}": ["shop/read", "shop/admin"],
      "POST /executions/{id}/cancel": ["floe/cancel"],
      "POST /executions/{id}/complete": ["shop/approve"],
      "POST /executions/{id}/rerun": ["shop/ops"],
      "POST /workflows/{name}/cancel": ["floe/cancel"],
      "POST /callbacks/{token}": undefined,
    });
  });

  it("requires no scope of a SigV4-signed request: IAM grants decide", () => {
    const { stack } = orchestrator();
    for (const scopes of Object.values(routeScopes(stack))) expect(scopes).toBeUndefined();
  });

  it("grants starting and reading through the API on its routes only", () => {
    const { stack, floe } = orchestrator();
    const caller = new iam.Role(stack, "Caller", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    floe.grantStart(caller);
    floe.grantRead(caller);
    const statements = Object.values(Template.fromStack(stack).findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes("Caller"))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[]);
    expect(statements.map((s) => s.Action)).toEqual(["execute-api:Invoke", "execute-api:Invoke"]);
    const resources = JSON.stringify(statements.map((s) => s.Resource));
    for (const route of ["/$default/POST/workflows/*/executions", "/$default/GET/executions/*", "/$default/GET/runs", "/$default/GET/runs/*", "/$default/GET/workflows"]) {
      expect(resources).toContain(route);
    }
  });

  it("grants completing external executions through the API on its route only", () => {
    const { stack, floe } = orchestrator();
    const caller = new iam.Role(stack, "Caller", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    floe.grantComplete(caller);
    const statements = Object.values(Template.fromStack(stack).findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes("Caller"))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[]);
    expect(statements.map((s) => s.Action)).toEqual(["execute-api:Invoke"]);
    const resource = JSON.stringify(stack.resolve(statements[0]!.Resource));
    expect(resource).toContain("/$default/POST/executions/*/complete");
    for (const other of ["cancel", "GET", "workflows", "callbacks"]) expect(resource).not.toContain(other);
    const jwt = orchestrator({ jwtIssuer: "https://issuer.example.com/", jwtAudience: ["floe-api"] });
    expect(() => jwt.floe.grantComplete(new iam.User(jwt.stack, "Caller"))).toThrow(/uses a JWT authorizer, .* issue tokens with the scope floe\/complete instead/);
  });

  it("grants re-running through the API on its route only, and bulk cancel with cancel", () => {
    const { stack, floe } = orchestrator();
    const statementsOf = (name: string) =>
      Object.values(Template.fromStack(stack).findResources("AWS::IAM::Policy"))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(name))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[]);
    floe.grantRerun(new iam.Role(stack, "Operator", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") }));
    floe.grantCancel(new iam.Role(stack, "Janitor", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") }));
    const rerun = JSON.stringify(stack.resolve(statementsOf("Operator").map((s) => s.Resource)));
    expect(rerun).toContain("/$default/POST/executions/*/rerun");
    for (const other of ["cancel", "complete", "GET", "workflows"]) expect(rerun).not.toContain(other);
    const cancel = JSON.stringify(stack.resolve(statementsOf("Janitor").map((s) => s.Resource)));
    expect(cancel).toContain("/$default/POST/executions/*/cancel");
    expect(cancel).toContain("/$default/POST/workflows/*/cancel");
    expect(cancel).not.toContain("rerun");
    const jwt = orchestrator({ jwtIssuer: "https://issuer.example.com/", jwtAudience: ["floe-api"] });
    expect(() => jwt.floe.grantRerun(new iam.User(jwt.stack, "Caller"))).toThrow(/uses a JWT authorizer, .* issue tokens with the scope floe\/rerun instead/);
  });

  it("throttles the callback route as told, and refuses limits out of range or above the stage's, naming the fix", () => {
    const { stack } = orchestrator({ callbackRateLimitPerSecond: 3, callbackBurstLimit: 6 });
    Template.fromStack(stack).hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      RouteSettings: { "POST /callbacks/{token}": { ThrottlingRateLimit: 3, ThrottlingBurstLimit: 6 } },
    });
    const outOfRange = problems({ callbackRateLimitPerSecond: 0, callbackBurstLimit: 2.5 });
    expect(outOfRange).toContain("callbackRateLimitPerSecond must be a whole number from 1 to 10000, got 0");
    expect(outOfRange).toContain("callbackBurstLimit must be a whole number from 1 to 5000, got 2.5");
    const above = problems({ apiRateLimitPerSecond: 5, apiBurstLimit: 8, callbackRateLimitPerSecond: 6, callbackBurstLimit: 9 });
    expect(above).toContain("callbackRateLimitPerSecond (6) exceeds apiRateLimitPerSecond (5), which limits every route: lower it, or raise apiRateLimitPerSecond");
    expect(above).toContain("callbackBurstLimit (9) exceeds apiBurstLimit (8), which limits every route: lower it, or raise apiBurstLimit");
    // The defaults (10 and 20) come down to a stage set lower.
    Template.fromStack(orchestrator({ apiRateLimitPerSecond: 5, apiBurstLimit: 8 }).stack).hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      RouteSettings: { "POST /callbacks/{token}": { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 8 } },
    });
  });

  it("expires records and payloads after the retention, and destroys what it made when told to", () => {
    const { stack } = orchestrator({ executionRetentionDays: 7, removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: { Rules: [Match.objectLike({ Prefix: "payloads/", ExpirationInDays: 7 })] },
    });
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ FLOE_RETENTION_DAYS: "7" }) } });
    template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
    template.hasResource("AWS::S3::Bucket", { DeletionPolicy: "Delete" });
  });
});
