/**
 * The local cloud runs each function as Lambda does: a task awaiting another task's result
 * is not woken in memory but suspends and is re-run; a parent and a child of the same task
 * run in different containers; the client's `result()` still arrives, even for a finish
 * written by another process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { State, task, workflow } from "floe";
import { startEmulators, startLocalCloud, type Emulators } from "floe/local-cloud";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { createAwsRuntime } from "../../sdk/aws/aws-runtime.ts";
import { EnvironmentVariable as V } from "../../sdk/aws/contract.ts";
import { currentContext } from "../../sdk/runtime/context.ts";
import { count, counted, latch, openLatch, unique } from "../conformance/probes.ts";

let emulators: Emulators;
let cloud: Runtime;
/** Every function invocation, by function name, as Lambda would bill them. */
const invocations: string[] = [];
// Long enough that a child released at once finishes well within it on a busy machine: a
// runtime shared by parent and child would wake the parent in memory instead.
const suspendAfterMs = 2_000;

beforeAll(async () => {
  emulators = await startEmulators();
  cloud = await startLocalCloudRuntime({
    endpoints: emulators.endpoints,
    prefix: "lf",
    suspendAfterMs,
    resultRecheckMs: 50,
    onInvoke: (name) => invocations.push(name),
  });
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  await emulators?.stop();
}, 60_000);

const gated = task("lf_gated", async (gate: string, value: number) => {
  await latch(gate);
  return value;
});
const parent = workflow("lf_parent", async (key: string, gate: string) => {
  count(key);
  const child = gated.submit(gate, 41);
  // The test opens the child's gate once the parent is about to wait.
  openLatch(`${key}-waiting`);
  return (await child.result()) + 1;
});

/** The runtime each run of `lf_nested` ran on, by key and depth. */
const runtimes = new Map<string, unknown[]>();
const nested = task("lf_nested", async (key: string, depth: number): Promise<number> => {
  const ran = runtimes.get(`${key}/${depth}`) ?? [];
  ran.push(currentContext()?.runtime);
  runtimes.set(`${key}/${depth}`, ran);
  return depth === 0 ? 0 : (await nested(key, depth - 1)) + 1;
});

/** Polls the execution until `until` holds of it. */
async function untilState(id: string, until: (state: string | undefined) => boolean): Promise<void> {
  while (!until((await cloud.getExecution(id))?.state)) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("local cloud: one runtime per function, as in Lambda", () => {
  it("refuses a resultRecheckMs that is not a positive number, before starting anything", async () => {
    for (const resultRecheckMs of [0, -5, Number.NaN]) {
      const error = await startLocalCloud({ resultRecheckMs }).then(() => undefined, (thrown: unknown) => thrown as Error & { code?: string });
      expect(error?.code).toBe("FLOE_INVALID_OPTION");
      expect(error?.message).toContain(`resultRecheckMs must be a positive number of milliseconds, got ${String(resultRecheckMs)}`);
    }
  });

  it("suspends a workflow awaiting a child that finishes at once, and runs it again from the start", async () => {
    const [key, gate] = [unique("parent"), unique("gate")];
    const before = invocations.length;
    const run = cloud.submit(parent, key, gate);
    await latch(`${key}-waiting`);
    openLatch(gate);
    expect(await run.result()).toBe(42);
    expect(counted(key)).toBe(2);
    // Each run of the parent is an invocation of its worker, as Lambda bills it.
    const invoked = invocations.slice(before);
    expect(invoked.filter((name) => name === "worker:lf_parent")).toHaveLength(2);
    expect(invoked.filter((name) => name === "worker:lf_gated")).toHaveLength(1);
    const record = await cloud.getExecution(run.id);
    const states = record?.history.map((h) => h.state);
    expect(states?.filter((s) => s === State.Running)).toHaveLength(2);
    expect(states).toContain(State.Suspended);
  }, 30_000);

  it("runs a parent and its child of the same task on different runtimes", async () => {
    const key = unique("nested");
    expect(await cloud.submit(nested, key, 1).result()).toBe(1);
    const [parentFirst] = runtimes.get(`${key}/1`) ?? [];
    const [child] = runtimes.get(`${key}/0`) ?? [];
    expect(parentFirst).toBeDefined();
    expect(child).toBeDefined();
    expect(child).not.toBe(parentFirst);
    // The parent was re-run after its suspension: it learnt of the child's finish no other way.
    expect(runtimes.get(`${key}/1`)).toHaveLength(2);
  }, 30_000);

  it("delivers a top-level result() for a finish written by another process", async () => {
    const gate = unique("gate");
    const execution = cloud.submit(gated, gate, 1);
    await untilState(execution.id, (state) => state === State.Running);
    const outcome = execution.result({ raiseOnFailure: false });
    while (!cloud.awaitedIds().includes(execution.id)) await new Promise((resolve) => setTimeout(resolve, 5));
    // Another process on the same table (a deployed API, say) cancels it: no function of
    // this local cloud writes the finish, so none tells the client.
    const { endpoints } = emulators;
    const credentials = { accessKeyId: "local", secretAccessKey: "local" };
    const clients = {
      dynamodb: new DynamoDBClient({ endpoint: endpoints.dynamodb, region: "us-east-1", credentials }),
      sqs: new SQSClient({ endpoint: endpoints.sqs, region: "us-east-1", credentials }),
      s3: new S3Client({ endpoint: endpoints.s3, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }, forcePathStyle: true }),
    };
    const other = createAwsRuntime(
      {
        [V.TableName]: "lf-executions",
        [V.BucketName]: "lf-blobs",
        [V.QueueUrlPrefix]: `${endpoints.sqs}/000000000000/lf-`,
        [V.SuspendAfterMs]: 100,
        [V.VisibilityTimeoutSeconds]: 30,
        [V.InlineFanIn]: 8,
        pathStyle: true,
      },
      { clients },
    );
    try {
      await other.cancel(other.reference(execution.id));
      const error = (await outcome) as Error & { code?: string };
      expect(error.code).toBe("FLOE_CANCELLED");
    } finally {
      openLatch(gate);
      await other.close();
      Object.values(clients).forEach((client) => client.destroy());
    }
  }, 30_000);
});
