/**
 * Task code cannot crash the `floe` command: an error it leaves uncaught (a rejected
 * promise nobody handles, a throw in a timer's callback) fails the attempt that raised it,
 * as a thrown error would, and is logged with its execution; the server keeps serving.
 */
import { describe, expect, it } from "vitest";
import { httpApi } from "../../sdk/cli/api-client.ts";
import { devServer, floe, ownHome } from "./support.ts";

const module = "test/cli/fixtures/stray.ts";

ownHome();

describe("floe dev with task code that leaves an error uncaught", () => {
  const dev = devServer(module);
  const output = dev.output;

  it("fails the execution whose code left a promise rejected, logs it with its execution, and serves on", async () => {
    const api = httpApi(dev.url());
    const stray = await api.start("stray_rejection", []);
    const outcome = await settle(api, stray);
    expect(outcome.state).toBe("failed");
    expect(outcome.error?.message).toBe("stray rejection from task code");
    expect(output.log).toContain(`a promise rejected with no handler in task "stray_rejection" (execution ${stray}, attempt 1) failed that attempt`);
    // The log points at the user's line, not at floe's frames.
    expect(output.log).toMatch(/stray\.ts:\d+:\d+/);
    const fine = await settle(api, await api.start("fine", [21]));
    expect(fine).toMatchObject({ state: "completed", result: 42 });
    expect(dev.child().exitCode).toBeNull();
  });

  it("fails the execution whose timer callback threw", async () => {
    const api = httpApi(dev.url());
    const stray = await api.start("stray_throw", []);
    expect(await settle(api, stray)).toMatchObject({ state: "failed", error: { message: "stray throw in a timer" } });
    expect(output.log).toContain(`an uncaught exception in task "stray_throw" (execution ${stray}, attempt 1) failed that attempt`);
    expect(dev.child().exitCode).toBeNull();
  });

  it("retries an attempt failed by a stray rejection, as for a thrown error", async () => {
    const api = httpApi(dev.url());
    expect(await settle(api, await api.start("retried_stray", []))).toMatchObject({ state: "completed", result: "attempt 2" });
  });
});

describe("floe run with task code that leaves a promise rejected", () => {
  it("fails the run with the rejection's error instead of crashing", { timeout: 30_000 }, async () => {
    const { code, stdout, stderr } = await floe(["run", module, "stray_rejection", "--no-progress"]);
    expect(code).toBe(1);
    expect(stdout).toContain("error: Error: stray rejection from task code");
    expect(stderr).toMatch(/a promise rejected with no handler in task "stray_rejection" \(execution \S+, attempt 1\) failed that attempt/);
  });
});

/** The execution's outcome once it has finished. */
async function settle(api: ReturnType<typeof httpApi>, id: string) {
  for (let tries = 0; tries < 200; tries += 1) {
    const outcome = await api.result(id).catch(() => undefined);
    if (outcome !== undefined && (outcome.state === "completed" || outcome.state === "failed")) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`execution ${id} did not finish`);
}
