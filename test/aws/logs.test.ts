/**
 * Task logs on the local cloud, through the AWS code path: each function's lines are kept
 * in its log group on the local CloudWatch Logs endpoint, and the API reads them back with
 * the real `CloudWatchLogsClient`'s `FilterLogEvents`, as on AWS.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { log, task, workflow } from "floe";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import { startLogsEndpoint, type LogsEndpoint } from "../../sdk/local-cloud/logs-endpoint.ts";
import { CloudWatchLogReader } from "../../sdk/aws/cloudwatch-log-reader.ts";
import { jsonLine, type ExecutionLogsJson } from "../../sdk/logs/log-line.ts";
import { restoreConsole } from "../../sdk/logs/log.ts";
import { handleRequest } from "../../sdk/http/routes.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import type { ExecutionRecord } from "../../sdk/engine/model.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";

const emulators = emulatorsForFile();
let close: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  restoreConsole();
  vi.restoreAllMocks();
}, 60_000);

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const tries = new Map<string, number>();
export const lcFlaky = task("lcl_flaky", { retries: { limit: 1, delayMs: 0 } }, async (key: string) => {
  const attempt = (tries.get(key) ?? 0) + 1;
  tries.set(key, attempt);
  log.info("trying", { key, attempt });
  console.log("console line of attempt %d", attempt);
  if (attempt === 1) throw new Error("first attempt fails");
  return attempt;
});
export const lcStamp = task("lcl_stamp", { inline: true }, async (key: string) => {
  log.warn("stamped inline", { key });
  return `${key}!`;
});
export const lcFlow = workflow("lcl_flow", async (key: string) => {
  const stamped = await lcStamp(key);
  return { stamped, tries: await lcFlaky(key) };
});

async function logsOf(runtime: Runtime, id: string, query: Record<string, string> = {}): Promise<{ status: number; body: ExecutionLogsJson }> {
  const response = await handleRequest(runtime, { method: "GET", path: `/executions/${encodeURIComponent(id)}/logs`, query, headers: {}, body: undefined, caller: "test" });
  return response as { status: number; body: ExecutionLogsJson };
}

describe("task logs on the local cloud", () => {
  it("reads each attempt's lines, and an inline task's, back through FilterLogEvents", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    let endpoint: LogsEndpoint | undefined;
    const runtime = await startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: "logs1", onLogsEndpoint: (e) => (endpoint = e) });
    close = () => runtime.close();
    const run = runtime.submit("lcl_flow", "k1");
    expect(await run.result()).toEqual({ stamped: "k1!", tries: 2 });
    const executions = (await runtime.getRun(run.id))!.executions;
    const flaky = executions.find((e) => e.taskName === "lcl_flaky")!;
    const stamp = executions.find((e) => e.taskName === "lcl_stamp")!;

    // The worker's stdout lines, in its log group, as Lambda keeps them.
    const stored = endpoint!.lines("/floe/logs1/workers/lcl_flaky").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(stored[0]).toMatchObject({ level: "INFO", message: "trying", fields: { key: "k1", attempt: 1 }, floe: { runId: run.id, executionId: flaky.id, task: "lcl_flaky", attempt: 1 } });

    const all = await logsOf(runtime, flaky.id);
    expect(all.status).toBe(200);
    expect(all.body.lines.map((l) => [l.attempt, l.level, l.message])).toEqual([
      [1, "info", "trying"],
      [1, "info", "console line of attempt 1"],
      [2, "info", "trying"],
      [2, "info", "console line of attempt 2"],
    ]);
    const second = await logsOf(runtime, flaky.id, { attempt: "2" });
    expect(second.body.lines.map((l) => l.attempt)).toEqual([2, 2]);
    // Run inside the workflow's worker: found in that worker's log group.
    const inline = await logsOf(runtime, stamp.id);
    expect(inline.body.lines).toMatchObject([{ level: "warn", message: "stamped inline", fields: { key: "k1" }, attempt: 1 }]);
    expect((await logsOf(runtime, "nope")).status).toBe(404);
  }, 60_000);
});

describe("the local CloudWatch Logs endpoint", () => {
  const record = (id: string): ExecutionRecord =>
    ({ id, runId: id, taskName: "t", createdAt: 1_000_000, finishedAt: 1_000_100, attempt: 1 }) as ExecutionRecord;
  const line = (id: string, n: number) =>
    jsonLine({ at: 1_000_000 + n, level: "info", message: `line ${n}`, tags: { runId: id, executionId: id, task: "t", attempt: 1 } });

  it("pages through nextToken within the execution's time window, and skips lines of other executions and other formats", async () => {
    const endpoint = await startLogsEndpoint({ pageSize: 2 });
    const client = new CloudWatchLogsClient({ endpoint: endpoint.url, region: "us-east-1", credentials });
    close = async () => {
      client.destroy();
      await endpoint.close();
    };
    for (let n = 0; n < 5; n += 1) {
      endpoint.append("/g/t", line("a", n));
      endpoint.append("/g/t", line("b", n));
    }
    endpoint.append("/g/t", "not JSON, from another library");
    const reader = new CloudWatchLogReader({ client, logGroupOf: (task) => `/g/${task}`, now: () => 2_000_000 });
    const page = await reader.read({ record: record("a") });
    expect(page.lines.map((l) => l.message)).toEqual(["line 0", "line 1", "line 2", "line 3", "line 4"]);
    expect(page.truncated).toBeUndefined();
    // Outside the execution's window (plus its margin): not read.
    const late = await reader.read({ record: { ...record("a"), createdAt: 1_000_000 + 3_600_000, finishedAt: 1_000_000 + 3_600_100 } });
    expect(late.lines).toEqual([]);
    // A task whose worker never wrote has no log group: no lines, no error.
    expect((await reader.read({ record: { ...record("a"), taskName: "never_ran" } })).lines).toEqual([]);
  });

  it("refuses a filter pattern it does not serve, naming the form it does", async () => {
    const endpoint = await startLogsEndpoint();
    const client = new CloudWatchLogsClient({ endpoint: endpoint.url, region: "us-east-1", credentials });
    close = async () => {
      client.destroy();
      await endpoint.close();
    };
    endpoint.append("/g/t", line("a", 0));
    const refused = client.send(new FilterLogEventsCommand({ logGroupName: "/g/t", filterPattern: "ERROR" }));
    await expect(refused).rejects.toMatchObject({ name: "InvalidParameterException", message: expect.stringContaining("JSON equality patterns joined by &&") });
    const found = await client.send(new FilterLogEventsCommand({ logGroupName: "/g/t", filterPattern: '{ $.floe.executionId = "a" && $.floe.attempt = 1 }' }));
    expect(found.events?.map((e) => e.timestamp)).toEqual([1_000_000]);
  });
});
