/**
 * The API: an API Gateway HTTP API (payload format 2.0) in front of the routes of DESIGN
 * section 4 (`sdk/http/routes.ts`), which `floe dev` serves too. This file only translates
 * the event and the response.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { handleRequest, type RoutesOptions } from "../sdk/http/routes.ts";
import type { Runtime } from "../sdk/runtime/runtime.ts";
import { entryPoint } from "./environment.ts";

/** What the API needs: the runtime it starts and reads executions with. */
export interface ApiDeps {
  readonly runtime: Runtime;
  readonly routes?: RoutesOptions;
}

/** Creates the API's handler over `deps` (tests pass their own). */
export function createApiHandler(deps: ApiDeps): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  return async (event) => {
    const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
    const headers = Object.fromEntries(Object.entries(event.headers).map(([name, value]) => [name.toLowerCase(), value]));
    const response = await handleRequest(
      deps.runtime,
      { method: event.requestContext.http.method, path: event.rawPath, query: event.queryStringParameters ?? {}, headers, body },
      deps.routes,
    );
    return { statusCode: response.status, headers: { "content-type": "application/json" }, body: JSON.stringify(response.body) };
  };
}

/** The Lambda entry point: the API over the runtime the environment describes. */
export const handler = entryPoint((runtime) => createApiHandler({ runtime }));
