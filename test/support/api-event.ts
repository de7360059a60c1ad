/** HTTP API events (payload format 2.0) as API Gateway builds them, for feeding the API handler in tests. */
import type { APIGatewayProxyEventV2 } from "aws-lambda";

/** What an event carries besides its method and path. */
export interface ApiEventParts {
  /** A string is sent as it is (for malformed bodies); anything else as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** The IAM caller's ARN, as the IAM authorizer reports it. */
  readonly caller?: string;
}

/** A request to `path`, as the API function receives it. */
export function apiEvent(method: string, path: string, parts: ApiEventParts = {}): APIGatewayProxyEventV2 {
  const { body, headers = {}, query, caller } = parts;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers,
    queryStringParameters: query,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      http: { method, path },
      ...(caller === undefined ? {} : { authorizer: { iam: { userArn: caller } } }),
    } as unknown as APIGatewayProxyEventV2["requestContext"],
  };
}
