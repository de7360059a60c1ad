/**
 * Which requests a local floe server (`floe dev`, `floe dashboard --api`) answers: only its
 * own page's and the `floe` command's. A web page the user visits elsewhere can send
 * requests to 127.0.0.1 too, so each request must show that it is not one of them:
 *
 * - `Host` is this server's address (an IP literal, `localhost` or the `--host` name, with
 *   its port): a DNS-rebound name that resolves to this machine is refused.
 * - `Origin`, when present, is this server's own origin, and `Sec-Fetch-Site` is
 *   `same-origin` or `none`: cross-origin and cross-site calls are refused (no CORS either).
 *   A GET navigation (a link followed to the dashboard) may come from any site: it can read
 *   nothing back and change nothing.
 * - Anything but GET and HEAD carries the server's secret ({@link secretHeader}), which only
 *   its page and the user's files hold; a wrong secret is refused on any method. The one
 *   exception is `POST /callbacks/{token}`, whose token is its credential, as on AWS.
 */
import { isIP } from "node:net";
import { sameSecret, secretHeader, secretPath } from "./local-secret.ts";

/** What the guard needs to know about the server. */
export interface GuardSettings {
  /** The address the server listens on (`--host`). */
  readonly host: string;
  readonly port: number;
  readonly secret: string;
}

/** The request's parts the guard reads; header names in lower case. */
export interface GuardedRequest {
  readonly method: string;
  /** The URL's path, when known. */
  readonly path?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Refused, with a message naming the check and the fix; or accepted, `owner` when it carried the secret. */
export type Verdict = { readonly refused: string } | { readonly refused?: undefined; readonly owner: boolean };

/** Checks one request against the server's address, origin and secret. */
export function checkRequest(request: GuardedRequest, settings: GuardSettings): Verdict {
  const own = `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${settings.port}`;
  const host = header(request, "host");
  const origin = hostOrigin(host, settings);
  if (origin === undefined) {
    return {
      refused:
        `refused: the Host header ${JSON.stringify(host ?? "")} is not this server's address (a check against DNS rebinding); ` +
        `open ${own}/ (or localhost, with the port), or serve under that name with --host <name>`,
    };
  }
  const from = header(request, "origin");
  if (from !== undefined && from !== origin) {
    return { refused: `refused: a page of ${from} may not call this server (only its own origin, ${origin}, may); open the dashboard at ${origin}/ instead` };
  }
  const site = header(request, "sec-fetch-site");
  const navigation = request.method === "GET" && header(request, "sec-fetch-mode") === "navigate";
  if (site !== undefined && site !== "same-origin" && site !== "none" && !navigation) {
    return { refused: `refused: a ${site} request (Sec-Fetch-Site) may not call this server; open the dashboard at ${origin}/ instead` };
  }
  return checkSecret(request, settings);
}

function checkSecret(request: GuardedRequest, settings: GuardSettings): Verdict {
  const given = header(request, secretHeader);
  if (given !== undefined && !sameSecret(given, settings.secret)) {
    return {
      refused:
        "refused: the X-Floe-Secret header is not this server's secret, which is new at each start; " +
        `reload the dashboard page, or check that --api names the server you started (its secret is in ${secretPath(settings.port)})`,
    };
  }
  const callback = request.method === "POST" && /^\/callbacks\/[^/]+$/.test(request.path ?? "");
  if (given === undefined && request.method !== "GET" && request.method !== "HEAD" && !callback) {
    return {
      refused:
        `refused: ${request.method} needs this server's secret in the X-Floe-Secret header; the dashboard page sends it, ` +
        `the floe command reads it from ${secretPath(settings.port)} (for an --api URL of this machine)`,
    };
  }
  return { owner: given !== undefined };
}

/** The origin a `Host` value stands for when it names this server, else `undefined`. */
function hostOrigin(host: string | undefined, settings: GuardSettings): string | undefined {
  if (host === undefined || !/^[a-z0-9.:[\]-]+$/i.test(host)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    return undefined;
  }
  const port = url.port === "" ? 80 : Number(url.port);
  const name = url.hostname;
  const bound = new URL(`http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}`).hostname;
  // An IP literal cannot be rebound to another address; a name can, unless it is ours.
  const ours = name === "localhost" || name === bound || isIP(name.replace(/^\[(.*)\]$/, "$1")) !== 0;
  return ours && port === settings.port ? url.origin : undefined;
}

function header(request: GuardedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
