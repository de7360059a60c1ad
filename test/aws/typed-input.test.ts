/**
 * Typed inputs on the AWS code path: the API function's handler and the workers over
 * DynamoDB Local and the SQS server. A refused start answers 400 naming the field and
 * writes nothing to the table; an accepted one runs with the schema's output.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import * as v from "valibot";
import { type } from "arktype";
import { task, workflow } from "floe";
import { createApiHandler } from "../../functions/api.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { apiEvent } from "../support/api-event.ts";

const emulators = emulatorsForFile();
let local: Runtime & { close(): Promise<void> };

beforeAll(async () => {
  local = await startLocalCloudRuntime({ endpoints: emulators.endpoints, prefix: "tinput" });
}, 120_000);
afterAll(async () => {
  await local?.close();
}, 60_000);

const order = z.object({ sku: z.string().check(z.regex(/^[A-Z]{3}-\d+$/, "must look like ABC-123")), quantity: z.int().check(z.positive()).default(1) });
const quote = task("tin_quote", { input: v.object({ sku: v.string(), quantity: v.number() }) }, async ({ sku, quantity }) => `${quantity} × ${sku}`);
workflow("tin_order", { input: order }, async ({ sku, quantity }) => quote({ sku, quantity }));
workflow("tin_tagged", { input: type({ tags: "string[]" }) }, async ({ tags }) => tags.length);
workflow("tin_bad_child", async () => {
  try {
    await quote({ sku: "ABC-1", quantity: "two" as unknown as number });
    return "accepted";
  } catch (error) {
    return (error as Error & { code?: string }).code;
  }
});

async function post(name: string, args: unknown[], headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await createApiHandler({ runtime: local })(apiEvent("POST", `/workflows/${name}/executions`, { body: { args }, headers, caller: "arn:aws:iam::1:user/ada" }));
  return { status: response.statusCode ?? 0, body: JSON.parse(response.body ?? "null") };
}

describe("typed inputs on the API function and workers (DynamoDB Local, SQS)", () => {
  it("answers 400 naming each field for a refused start, with or without an idempotency key, and writes nothing", async () => {
    for (const headers of [{}, { "idempotency-key": "order-1" }] as Record<string, string>[]) {
      const refused = await post("tin_order", [{ sku: "abc", quantity: 0 }], headers);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe("FLOE_INVALID_INPUT");
      expect(refused.body.error.fields).toEqual({ "args.0.sku": "must look like ABC-123", "args.0.quantity": expect.stringContaining(">0") });
      const tags = await post("tin_tagged", [{ tags: ["a", 1] }], headers);
      expect(tags.body.error.fields).toEqual({ "args.0.tags.1": expect.stringContaining("must be a string") });
    }
    expect(await local.listRuns({ taskName: "tin_order" })).toEqual([]);
    expect(await local.listRuns({ taskName: "tin_tagged" })).toEqual([]);
    // The key was never claimed: a valid start under it is accepted.
    const accepted = await post("tin_order", [{ sku: "ABC-1" }], { "idempotency-key": "order-1" });
    expect(accepted.status).toBe(202);
    expect(await local.reference(accepted.body.id).result()).toBe("1 × ABC-1");
  }, 60_000);

  it("runs a valid start on the workers with the schema's output, and refuses a child's bad input in its caller", async () => {
    const started = await post("tin_order", [{ sku: "XYZ-9", quantity: 3 }]);
    expect(started.status).toBe(202);
    expect(await local.reference(started.body.id).result()).toBe("3 × XYZ-9");
    const bad = await post("tin_bad_child", []);
    expect(await local.reference(bad.body.id).result()).toBe("FLOE_INVALID_INPUT");
    const run = await local.getRun(bad.body.id);
    expect(run?.executions.map((e) => e.taskName)).toEqual(["tin_bad_child"]);
  }, 60_000);
});
