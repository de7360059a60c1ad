/**
 * The HTTP side shared by the local stand-ins for AWS services (CloudWatch Logs,
 * EventBridge, Scheduler): a server on a free local port that reads a request's JSON body and
 * answers with JSON, and an error as the services answer them, so each stand-in holds only
 * the service's own logic.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** An error as an AWS service answers it: a status, an error type and a message. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** A request as a stand-in sees it. */
export interface JsonRequest {
  readonly method: string;
  readonly url: URL;
  /** The `X-Amz-Target` header of the JSON protocol, when sent. */
  readonly target: string | undefined;
  /** The parsed body; `{}` for an empty one. */
  readonly body: Record<string, unknown>;
}

/**
 * How errors are written: the JSON protocol (`application/x-amz-json-1.1`, `message`) or REST
 * JSON (`application/json`, `Message` and the `x-amzn-errortype` header). The SDK's clients
 * read only their own protocol's form.
 */
export type JsonProtocol = "json-1.1" | "rest-json";

/** A running stand-in. */
export interface JsonEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts a server that hands each request to `handle` and answers 200 with what it returns,
 * or the {@link ServiceError} it throws; a body that is not JSON is a 400 `ValidationException`
 * (`invalidBodyType` for services that name it otherwise), anything else thrown a 500.
 */
export async function startJsonEndpoint(
  protocol: JsonProtocol,
  handle: (request: JsonRequest) => unknown,
  invalidBodyType = "ValidationException",
): Promise<JsonEndpoint> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const reply = (status: number, body: unknown, type?: string) => {
        const headers =
          protocol === "json-1.1"
            ? { "content-type": "application/x-amz-json-1.1" }
            : { "content-type": "application/json", ...(type === undefined ? {} : { "x-amzn-errortype": type }) };
        response.writeHead(status, headers);
        response.end(JSON.stringify(body));
      };
      const fail = (error: ServiceError) =>
        reply(error.status, protocol === "json-1.1" ? { __type: error.type, message: error.message } : { __type: error.type, Message: error.message }, error.type);
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown>;
        try {
          body = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
        } catch (error) {
          throw new ServiceError(400, invalidBodyType, `the body is not JSON: ${(error as Error).message}`);
        }
        const target = request.headers["x-amz-target"];
        const url = new URL(request.url ?? "/", "http://local");
        reply(200, handle({ method: request.method ?? "GET", url, target: typeof target === "string" ? target : undefined, body }));
      } catch (error) {
        fail(error instanceof ServiceError ? error : new ServiceError(500, "InternalServerException", String(error)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error)))),
  };
}
