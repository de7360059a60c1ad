/**
 * How the `floe` command authenticates to a deployed API: the Orchestrator's HTTP API
 * uses IAM authorisation by default (requests signed with SigV4 by the caller's AWS
 * credentials), or a JWT authorizer (a bearer token). A `floe dev` server needs neither: it
 * takes its own secret, which `api-client.ts` reads from the user's files (`local-secret.ts`).
 */
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { CliError, ExitCode } from "./cli-error.ts";

/** How requests to the API are authorised. */
export interface ApiAuth {
  /** A bearer token for a JWT authorizer (`--token`, or `FLOE_API_TOKEN`). */
  readonly token?: string | undefined;
  /**
   * Sign requests with SigV4 and the default AWS credentials. `undefined` signs for API
   * Gateway's own host names (`*.execute-api.<region>.amazonaws.com`) only.
   */
  readonly iam?: boolean | undefined;
}

/** Adds authorisation headers to a request: resolves to the headers to send. */
export type Authorize = (request: {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}) => Promise<Record<string, string>>;

const apiGatewayHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/;

/** The authorisation for requests to `base`. */
export function authorizer(base: URL, auth: ApiAuth = {}): Authorize {
  if (auth.token !== undefined && auth.token !== "") {
    const bearer = `Bearer ${auth.token}`;
    return async ({ headers }) => ({ ...headers, authorization: bearer });
  }
  const region = apiGatewayHost.exec(base.hostname)?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const sign = auth.iam ?? apiGatewayHost.test(base.hostname);
  if (!sign) return async ({ headers }) => headers;
  if (region === undefined) {
    throw new CliError(ExitCode.BadInput, `cannot sign requests to ${base.host}: its region is unknown; set AWS_REGION`);
  }
  const signer = new SignatureV4({
    service: "execute-api",
    region,
    credentials: defaultProvider(),
    sha256: Hash.bind(null, "sha256"),
  });
  return async ({ method, url, headers, body }) => {
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, key) => (query[key] = value));
    let signed;
    try {
      signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === "" ? undefined : Number(url.port),
        path: url.pathname,
        query,
        headers: { ...headers, host: url.host },
        body: body ?? undefined,
      });
    } catch (error) {
      throw new CliError(
        ExitCode.BadInput,
        `cannot sign requests to ${url.host} with AWS credentials (${(error as Error).message}); ` +
          "configure credentials (AWS_PROFILE, or aws configure), or pass --token for a JWT-authorised API",
        { cause: error },
      );
    }
    return signed.headers;
  };
}
