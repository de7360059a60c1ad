/**
 * `cache` and `memo` on the local cloud: the real task handlers, one runtime per function,
 * over DynamoDB Local and the SQS server. A cache hit is answered where the call is made,
 * with no message and no invocation of the cached task's function.
 */
import { describe, expect, it } from "vitest";
import { task, workflow } from "floe";
import { localCloudsForFile } from "../support/file-emulators.ts";

const clouds = localCloudsForFile("reuse");
const start = () => clouds.start();

const quote = task("rlc_quote", { cache: { ttlMs: 3_600_000 } }, async (sku: string) => ({ sku, cents: sku.length * 100 }));
const profile = task("rlc_profile", { memo: true }, async (id: string) => `profile ${id}`);
const page = task("rlc_page", async (id: string) => `page of ${await profile(id)}`);
const site = workflow("rlc_site", async (id: string) => {
  const own = await profile(id);
  const pages = await Promise.all([page(id), page(id)]);
  return [own, ...pages];
});

describe("reuse on the local cloud", () => {
  it("serves a cached result without invoking the task's function, linked to its source", async () => {
    const { runtime, invocations } = await start();
    const source = runtime.submit(quote, "sku-1");
    expect(await source.result()).toEqual({ sku: "sku-1", cents: 500 });
    const invoked = invocations.get("worker:rlc_quote");
    const hit = runtime.submit(quote, "sku-1");
    expect(await hit.result()).toEqual({ sku: "sku-1", cents: 500 });
    expect(await runtime.getExecution(hit.id)).toMatchObject({ state: "completed", cachedFrom: source.id });
    // The coordinator sees every terminal transition on the stream; the task's function is not invoked again.
    expect(invocations.get("worker:rlc_quote")).toBe(invoked);
  });

  it("runs a memo call once per run across the run's tasks", async () => {
    const { runtime } = await start();
    const run = runtime.submit(site, "u7");
    expect(await run.result()).toEqual(["profile u7", "page of profile u7", "page of profile u7"]);
    const view = await runtime.getRun(run.id);
    expect(view?.executions.filter((e) => e.taskName === "rlc_profile")).toHaveLength(1);
  });
});
