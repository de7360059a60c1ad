/**
 * The server of `floe dev` and `floe dashboard`: the dashboard's files, and every other
 * request handed to the HTTP API (in process over an engine, or forwarded to a remote API).
 * It answers only its own page and the `floe` command (`request-guard.ts`): a web page
 * elsewhere can neither act through it nor read from it.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleRequest, type HttpResponse } from "../http/routes.ts";
import type { ScheduleControl } from "../schedules/routes.ts";
import { ErrorCode } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { authorizer, type ApiAuth } from "./api-auth.ts";
import { withoutHost } from "./api-client.ts";
import { CliError, ExitCode } from "./cli-error.ts";
import { dashboardAsset } from "./dashboard-assets.ts";
import { createSecret, saveSecret, secretHeader, secretPath } from "./local-secret.ts";
import { checkRequest, type GuardSettings } from "./request-guard.ts";

/** One API request, as the server hands it on. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly headers: Record<string, string | undefined>;
  readonly body: string;
  /** Whether it carried the server's secret: the user's own page or command. */
  readonly owner: boolean;
}

/** Answers one API request. */
export type ApiHandler = (request: ApiRequest) => Promise<HttpResponse>;

/** Settings of {@link startServer}. */
export interface ServerOptions {
  /** The address to listen on; keep a loopback address unless others must reach it. */
  readonly host: string;
  /** The port; 0 picks a free one. */
  readonly port: number;
  /**
   * The largest request body read, in bytes: a larger one is answered 413 without reading it.
   * @default 1048576
   */
  readonly maxBodyBytes?: number;
}

/** A running server. */
export interface Server {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  /** The secret its page and the `floe` command send; new at each start. */
  readonly secret: string;
  close(): Promise<void>;
}

/** The API over an engine in this process; errors keep their stacks for the owner only. */
export function localApi(runtime: () => Runtime, schedules?: ScheduleControl): ApiHandler {
  return (request) =>
    handleRequest(
      runtime(),
      {
        method: request.method,
        path: request.path,
        query: Object.fromEntries(new URLSearchParams(request.search)),
        headers: request.headers,
        body: request.body === "" ? undefined : request.body,
        // One person's local server: one caller.
        caller: "local",
      },
      { errorStacks: request.owner, ...(schedules === undefined ? {} : { schedules }) },
    );
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
 * Serves the dashboard and the API on `host:port` (`port` 0 picks a free one), with a new
 * secret, which it writes for the `floe` command (`local-secret.ts`) and removes on close.
 * @throws CliError `BadInput` when the port is taken
 */
export async function startServer(api: ApiHandler, options: ServerOptions): Promise<Server> {
  const secret = createSecret();
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const server = createServer((req, res) => {
    const guard = { host: options.host, port: (server.address() as AddressInfo).port, secret };
    handle(api, guard, maxBodyBytes, req, res).catch((error: unknown) => send(res, 500, "application/json", JSON.stringify({ error: { code: "FLOE_INTERNAL", message: (error as Error).message } })));
  });
  const port = await listen(server, options);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let forget: () => Promise<void>;
  try {
    forget = await saveSecret(port, secret);
  } catch (error) {
    server.close();
    throw new CliError(
      ExitCode.BadInput,
      `cannot write this server's secret to ${secretPath(port)} (${(error as Error).message}); make your home folder writable, or set HOME`,
      { cause: error },
    );
  }
  return {
    url: `http://${host}:${port}`,
    secret,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await forget();
    },
  };
}

/** Listens on `host:port`; resolves to the port (the one picked, for 0). */
async function listen(server: HttpServer, options: ServerOptions): Promise<number> {
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
  return (server.address() as AddressInfo).port;
}

async function handle(api: ApiHandler, guard: GuardSettings, maxBodyBytes: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://localhost");
  const verdict = checkRequest({ method, path: url.pathname, headers: req.headers }, guard);
  if (verdict.refused !== undefined) return refuse(req, res, 403, "FLOE_FORBIDDEN", verdict.refused);
  if (method === "GET") {
    const asset = await dashboardAsset(url.pathname, guard.secret);
    if (asset !== undefined) return send(res, 200, asset.type, asset.body);
  }
  const body = await readBody(req, maxBodyBytes);
  if (body === undefined) {
    return refuse(req, res, 413, ErrorCode.PayloadTooLarge, `the request body is over the limit of ${maxBodyBytes} bytes; send a smaller one (pass a large value by reference: an S3 key, say)`);
  }
  // The secret has done its work here: it goes no further (not to an engine, not upstream).
  const { [secretHeader]: _secret, ...rest } = req.headers;
  const headers = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]));
  const response = await api({ method, path: url.pathname, search: url.search, headers, body, owner: verdict.owner });
  send(res, response.status, "application/json", JSON.stringify(response.body));
}

/**
 * The body as text, or `undefined` as soon as it is known to be over `max` bytes: from
 * Content-Length before reading anything, else once the bytes read pass it. What is over
 * is never read, so a huge body costs no memory (the connection is closed after the 413).
 */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > max) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off("data", take).off("end", done).off("error", reject);
      req.pause();
    };
    const take = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      stop();
      resolve(undefined);
    };
    const done = (): void => resolve(Buffer.concat(chunks).toString("utf8"));
    req.on("data", take).on("end", done).on("error", reject);
  });
}

/** Answers an error and closes the connection: a request refused unread is not read on. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", connection: "close" });
  res.end(JSON.stringify({ error: { code, message } }), () => req.socket.destroy());
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}
