/**
 * The bundled cloud resolves the HTTP API's endpoint that the construct gives every worker
 * and the API function as `FLOE_API_URL` (the base of callback URLs): in the parent stack
 * and through a nested stack's parameter, to the local API's URL when given, else to the
 * endpoint CloudFormation would make. A template holding only an API and functions creates
 * nothing, so no emulator is needed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { provision, type ProvisionClients } from "../../sdk/local-cloud/provision.ts";
import { readStack, resolveValue, resourcesOfType } from "../../sdk/local-cloud/template.ts";

const assembly = mkdtempSync(join(tmpdir(), "floe-api-url-"));
afterAll(() => rmSync(assembly, { recursive: true, force: true }));

const write = (file: string, content: object) => writeFileSync(join(assembly, file), JSON.stringify(content));
const endpoint = { "Fn::GetAtt": ["FloeApiHttpApi", "ApiEndpoint"] };
write("manifest.json", { artifacts: { App: { type: "aws:cloudformation:stack", properties: { templateFile: "App.template.json" } } } });
write("App.template.json", {
  Resources: {
    FloeApiHttpApi: { Type: "AWS::ApiGatewayV2::Api", Properties: { Name: "HttpApi", ProtocolType: "HTTP" } },
    ApiHandler: { Type: "AWS::Lambda::Function", Properties: { Environment: { Variables: { FLOE_API_URL: endpoint } } } },
    Tasks0: {
      Type: "AWS::CloudFormation::Stack",
      Properties: { Parameters: { referencetoFloeApiHttpApiApiEndpoint: endpoint } },
      Metadata: { "aws:asset:path": "AppTasks0.nested.template.json" },
    },
  },
});
write("AppTasks0.nested.template.json", {
  Parameters: { referencetoFloeApiHttpApiApiEndpoint: { Type: "String" } },
  Resources: {
    Worker: { Type: "AWS::Lambda::Function", Properties: { Environment: { Variables: { FLOE_API_URL: { Ref: "referencetoFloeApiHttpApiApiEndpoint" } } } } },
  },
});

/** The clients of the services a template without tables, buckets or queues never calls. */
const unused = {} as ProvisionClients;

async function apiUrls(apiUrl?: string): Promise<string[]> {
  const stack = readStack(assembly);
  const provisioned = await provision(stack, unused, undefined, apiUrl === undefined ? {} : { apiUrl });
  return resourcesOfType(stack, "AWS::Lambda::Function").map(([id, fn]) => {
    const variables = resolveValue(fn.Properties?.Environment, provisioned.resolverFor(id)) as { Variables: { FLOE_API_URL: string } };
    return variables.Variables.FLOE_API_URL;
  });
}

describe("FLOE_API_URL in the bundled cloud", () => {
  it("resolves to the local API's URL, in the parent stack and through a nested stack's parameter", async () => {
    expect(await apiUrls("http://127.0.0.1:7071")).toEqual(["http://127.0.0.1:7071", "http://127.0.0.1:7071"]);
  });

  it("resolves, without one, to an endpoint of the form CloudFormation gives, the same every time", async () => {
    const urls = await apiUrls();
    expect(urls[0]).toMatch(/^https:\/\/[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com$/);
    expect(urls).toEqual([urls[0], urls[0]]);
    expect(await apiUrls()).toEqual(urls);
  });
});
