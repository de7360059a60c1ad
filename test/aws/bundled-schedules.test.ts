/**
 * A scheduled workflow's stack, synthesized with real bundling and run as Lambda runs it
 * (`startBundledCloud`): the API function's bundle, told its schedules by the template,
 * pauses and resumes a workflow's schedule on the local Scheduler, which holds the
 * schedules as the template describes them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundledCloud, type BundledCloud } from "floe/local-cloud";
import { Orchestrator } from "../../infra/index.ts";
import { apiEvent } from "../support/api-event.ts";

const assembly = mkdtempSync(join(tmpdir(), "floe-assembly-"));
let cloud: BundledCloud;

beforeAll(async () => {
  const app = new App({ outdir: assembly, context: { "aws:cdk:enable-asset-metadata": true } });
  const stack = new Stack(app, "Scheduled");
  new Orchestrator(stack, "Floe", { tasksModule: fileURLToPath(new URL("../infra/scheduled-tasks.ts", import.meta.url)), namePrefix: "sched" });
  app.synth();
  cloud = await startBundledCloud({ assembly, schedules: false, log: () => undefined });
}, 240_000);

afterAll(async () => {
  await cloud?.close();
  rmSync(assembly, { recursive: true, force: true });
}, 60_000);

/** Calls the API function as API Gateway does. */
async function call(method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const api = cloud.functions.get([...cloud.functions.keys()].find((id) => id.startsWith("FloeApiHandlerFunction")) ?? "");
  if (api === undefined) throw new Error(`no API function among ${[...cloud.functions.keys()].join(", ")}`);
  const event = apiEvent(method, path, { caller: "arn:aws:iam::1:user/ops" });
  const response = (await api.invoke(event)) as { statusCode: number; body: string };
  return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
}

describe("a deployed schedule's pause and resume, in the bundled cloud", () => {
  it("lists the schedules from Scheduler, pauses one and resumes it", async () => {
    expect((await call("GET", "/schedules")).body).toEqual({
      schedules: [
        expect.objectContaining({ workflow: "nightly_report", paused: false }),
        expect.objectContaining({ workflow: "quarter_hour", schedule: "every 15 minutes", paused: false }),
      ],
    });
    expect(await call("POST", "/schedules/quarter_hour/pause")).toMatchObject({ status: 200, body: { workflow: "quarter_hour", paused: true, next: null } });
    expect((await call("GET", "/schedules")).body).toMatchObject({ schedules: [{ paused: false }, { paused: true }] });
    expect(await call("POST", "/schedules/quarter_hour/resume")).toMatchObject({ status: 200, body: { paused: false } });
    expect((await call("GET", "/schedules")).body).toMatchObject({ schedules: [{ paused: false }, { paused: false }] });
  }, 60_000);
});
