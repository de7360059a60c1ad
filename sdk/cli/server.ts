/**
 * The server of `floe dev` and `floe dashboard`: the dashboard's files, and every other
 * request handed to the HTTP API (in process over an engine, or forwarded to a remote API).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleRequest, type HttpResponse } from "../http/routes.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { authorizer, type ApiAuth } from "./api-auth.ts";
import { withoutHost } from "./api-client.ts";
import { CliError, ExitCode } from "./cli-error.ts";
import { dashboardAsset } from "./dashboard-assets.ts";

/** Answers one API request. */
export type ApiHandler = (request: { method: string; path: string; search: string; headers: Record<string, string | undefined>; body: string }) => Promise<HttpResponse>;

/** A running server. */
export interface Server {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

/** The API over an engine in this process. */
export function localApi(runtime: () => Runtime): ApiHandler {
  return (request) =>
    handleRequest(runtime(), {
      method: request.method,
      path: request.path,
      query: Object.fromEntries(new URLSearchParams(request.search)),
      headers: request.headers,
      body: request.body === "" ? undefined : request.body,
      // One person's local server: one caller.
      caller: "local",
    });
}

/** The API of a deployed stack, forwarded: the dashboard then needs no CORS from it. */
export function remoteApi(base: string, auth?: ApiAuth): ApiHandler {
  const root = base.replace(/\/+$/, "");
  const authorize = authorizer(new URL(root), auth);
  return async (request) => {
    const unsigned: Record<string, string> = { "content-type": "application/json" };
    const key = request.headers["idempotency-key"];
    if (key !== undefined) unsigned["idempotency-key"] = key;
    const url = new URL(`${root}${request.path}${request.search}`);
    const body = request.method === "GET" || request.body === "" ? null : request.body;
    try {
      const headers = await authorize({ method: request.method, url, headers: unsigned, body });
      const response = await fetch(url, { method: request.method, headers: withoutHost(headers), body, signal: AbortSignal.timeout(30_000) });
      const text = await response.text();
      return { status: response.status, body: text === "" ? null : JSON.parse(text) };
    } catch (error) {
      return { status: 502, body: { error: { code: "FLOE_API_UNREACHABLE", message: `cannot reach the floe API at ${root}: ${(error as Error).message}` } } };
    }
  };
}

/**
 * Serves the dashboard and the API on `host:port` (`port` 0 picks a free one).
 * @throws CliError `BadInput` when the port is taken
 */
export async function startServer(api: ApiHandler, options: { host: string; port: number }): Promise<Server> {
  const server = createServer((req, res) => {
    handle(api, req, res).catch((error: unknown) => send(res, 500, "application/json", JSON.stringify({ error: { code: "FLOE_INTERNAL", message: (error as Error).message } })));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new CliError(ExitCode.BadInput, `port ${options.port} on ${options.host} is taken; pass another with --port (0 picks a free one)`)
          : error,
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(api: ApiHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const method = req.method ?? "GET";
  if (method === "GET") {
    const asset = await dashboardAsset(url.pathname);
    if (asset !== undefined) return send(res, 200, asset.type, asset.body);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]));
  const response = await api({ method, path: url.pathname, search: url.search, headers, body: Buffer.concat(chunks).toString("utf8") });
  send(res, response.status, "application/json", JSON.stringify(response.body));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}
