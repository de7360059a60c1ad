/**
 * The HTTP API of DESIGN section 4 as the `floe` command calls it: over the network
 * (`floe dev`, a deployed stack) or in process over an engine (`in-process-api.ts`), so
 * every command reads runs the same way whichever engine runs them.
 */
import type { ApiErrorJson, ExecutionJson, RunJson, RunListJson } from "../http/views.ts";
import type { ExecutionLogsJson } from "../logs/log-line.ts";
import { authorizer, type ApiAuth } from "./api-auth.ts";
import { CliError, ExitCode } from "./cli-error.ts";
import { findSecret, secretHeader } from "./local-secret.ts";

/** An answer of the API. */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Sends one request to the API. */
export type ApiTransport = (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

/** A schedule as `GET /schedules` lists it. */
export interface ScheduleJson {
  readonly workflow: string;
  readonly schedule: string;
  readonly paused: boolean;
  /** ISO time of the next tick, `null` while paused. */
  readonly next: string | null;
}

/** The routes the command uses, with the API's errors turned into {@link CliError}s. */
export class ApiClient {
  /**
   * @param transport - how requests reach the API
   * @param where - names the API in error messages (its URL, or "the embedded engine")
   */
  constructor(
    readonly transport: ApiTransport,
    readonly where: string,
  ) {}

  /** Starts a run of `workflow`; returns its id. */
  async start(workflow: string, args: readonly unknown[]): Promise<string> {
    const body = await this.#ok<{ id: string }>("POST", `/workflows/${encodeURIComponent(workflow)}/executions`, { args });
    return body.id;
  }

  /**
   * A run with all its executions and edges, or `undefined` when no run has the id; given
   * `since` (a view's `cursor`), only what changed after that view (fold it in with `mergeRun`).
   */
  async run(id: string, since?: string): Promise<RunJson | undefined> {
    const query = since === undefined ? "" : `?since=${encodeURIComponent(since)}`;
    return this.#found<RunJson>(`/runs/${encodeURIComponent(id)}${query}`);
  }

  /** One execution, or `undefined` when no execution has the id. */
  async execution(id: string): Promise<ExecutionJson | undefined> {
    return this.#found<ExecutionJson>(`/executions/${encodeURIComponent(id)}`);
  }

  /** The execution whose result `id` ends with, forwards followed (`waitSeconds=0`: no waiting). */
  async result(id: string): Promise<ExecutionJson> {
    return this.#ok<ExecutionJson>("GET", `/executions/${encodeURIComponent(id)}/result?waitSeconds=0`);
  }

  /** The lines an execution's tasks logged, oldest first, tagged with their attempt. */
  async logs(id: string, attempt?: number): Promise<ExecutionLogsJson> {
    return this.#ok<ExecutionLogsJson>("GET", `/executions/${encodeURIComponent(id)}/logs${attempt === undefined ? "" : `?attempt=${attempt}`}`);
  }

  /** Runs newest first, filtered and paged by the API; a full page comes with the next one's cursor. */
  async runs(query: { workflow?: string; state?: string; limit?: number; cursor?: string }): Promise<RunListJson> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    return this.#ok<RunListJson>("GET", `/runs?${params.toString()}`);
  }

  /** The scheduled workflows with their next ticks. */
  async schedules(): Promise<{ schedules: ScheduleJson[] }> {
    return this.#ok<{ schedules: ScheduleJson[] }>("GET", "/schedules");
  }

  /** Pauses or resumes a workflow's schedule; returns it as it is now. */
  async pauseSchedule(workflow: string, paused: boolean): Promise<ScheduleJson> {
    return this.#ok<ScheduleJson>("POST", `/schedules/${encodeURIComponent(workflow)}/${paused ? "pause" : "resume"}`);
  }

  /** Completes an external execution with `{ result }` or `{ error }`; answers its id and state. */
  async complete(id: string, body: { result: unknown } | { error: { message: string; code?: string } }): Promise<{ id: string; state: string }> {
    return this.#ok<{ id: string; state: string }>("POST", `/executions/${encodeURIComponent(id)}/complete`, body);
  }

  /** Re-runs the failed or cancelled run of execution `id`; answers its root's id and new attempt. */
  async rerun(id: string): Promise<{ id: string; runId: string; attempt: number; statusUrl: string }> {
    return this.#ok<{ id: string; runId: string; attempt: number; statusUrl: string }>("POST", `/executions/${encodeURIComponent(id)}/rerun`);
  }

  /** Cancels an execution and everything under it; answers its id and state. */
  async cancel(id: string): Promise<{ id: string; state: string }> {
    return this.#ok<{ id: string; state: string }>("POST", `/executions/${encodeURIComponent(id)}/cancel`);
  }

  /** Cancels (or with `dryRun` lists) the runs of `workflow` in `state`, up to the API's page; `more` when others remain. */
  async cancelRuns(workflow: string, body: { state: string; dryRun?: boolean }): Promise<{ ids: string[]; more: boolean }> {
    return this.#ok<{ ids: string[]; more: boolean }>("POST", `/workflows/${encodeURIComponent(workflow)}/cancel`, body);
  }

  async #found<T>(path: string): Promise<T | undefined> {
    const response = await this.transport("GET", path);
    if (response.status === 404) return undefined;
    return this.#check<T>(response, "GET", path);
  }

  async #ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#check<T>(await this.transport(method, path, body), method, path);
  }

  #check<T>(response: ApiResponse, method: string, path: string): T {
    if (response.status < 400) return response.body as T;
    const error = (response.body as Partial<ApiErrorJson> | undefined)?.error;
    if (error === undefined || response.status >= 500) {
      throw new CliError(
        ExitCode.Unreachable,
        `${this.where} answered ${method} ${path} with ${response.status}${error === undefined ? "" : `: ${error.message}`}; ` +
          "check that --api points at a floe API",
      );
    }
    throw new CliError(ExitCode.BadInput, error.message);
  }
}

/**
 * A client of the API served over the network at `base` (e.g. `http://127.0.0.1:3700`). For
 * a `floe dev` server of this machine it sends the server's secret, read from the user's
 * files (`local-secret.ts`), which the server requires of every call that changes anything.
 */
export function httpApi(base: string, auth?: ApiAuth): ApiClient {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new CliError(ExitCode.BadInput, `--api must be a URL such as http://127.0.0.1:3700, got "${base}"`);
  }
  const root = url.href.replace(/\/+$/, "");
  const authorize = authorizer(url, auth);
  let secret: Promise<string | undefined> | undefined;
  const transport: ApiTransport = async (method, path, body) => {
    let response: Response;
    const target = new URL(`${root}${path}`);
    const text = body === undefined ? null : JSON.stringify(body);
    const local = await (secret ??= findSecret(url));
    const unsigned: Record<string, string> = text === null ? {} : { "content-type": "application/json" };
    if (local !== undefined) unsigned[secretHeader] = local;
    const headers = await authorize({ method, url: target, headers: unsigned, body: text });
    try {
      response = await fetch(target, { method, headers: withoutHost(headers), body: text, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new CliError(
        ExitCode.Unreachable,
        `cannot reach the floe API at ${root} (${reason}); start one with \`floe dev <module>\`, or pass --api <url> (or set FLOE_API)`,
        { cause: error },
      );
    }
    const answer = await response.text();
    const refusal = localRefusal(response.status, answer);
    if (refusal !== undefined) throw new CliError(ExitCode.Unreachable, `the floe server at ${root} ${refusal}`);
    if (response.status === 401 || response.status === 403) {
      throw new CliError(
        ExitCode.Unreachable,
        `the floe API at ${root} refused the request (${response.status}): with IAM authorisation, check your AWS credentials ` +
          "and that they may invoke the API (Orchestrator.grantStart/grantRead), or pass --iam for a custom domain; with a JWT authorizer, pass --token",
      );
    }
    try {
      return { status: response.status, body: answer === "" ? undefined : JSON.parse(answer) };
    } catch {
      throw new CliError(ExitCode.Unreachable, `${root}${path} answered ${response.status} with something that is not JSON; check that --api points at a floe API`);
    }
  };
  return new ApiClient(transport, `the floe API at ${root}`);
}

/** The message of a local floe server's 403 (`request-guard.ts`), which names the check and the fix. */
function localRefusal(status: number, answer: string): string | undefined {
  if (status !== 403) return undefined;
  try {
    const { error } = JSON.parse(answer) as Partial<ApiErrorJson>;
    return error?.code === "FLOE_FORBIDDEN" ? error.message : undefined;
  } catch {
    return undefined;
  }
}

/** `fetch` sets the host itself (to the value signed). */
export function withoutHost(headers: Record<string, string>): Record<string, string> {
  const { host: _host, ...rest } = headers;
  return rest;
}
