/**
 * `floe run --workers N`: the module being run is the pool's worker module, so its
 * `runner: "worker"` tasks run on worker threads of the command's embedded engine.
 */
import { describe, expect, it } from "vitest";
import { digest } from "../../examples/cpu-pool.ts";
import { createHash } from "node:crypto";
import { cli, floe } from "./support.ts";

describe("floe run --workers", () => {
  it("runs the example's worker tasks on worker threads, the workflow on the main thread", { timeout: 60_000 }, async () => {
    const { code, stdout } = await floe(["run", "examples/cpu-pool.ts", "crunch_all", "4", "--workers", "2", "--json", "--no-progress"]);
    expect(code).toBe(0);
    const { result } = JSON.parse(stdout) as { result: { digest: string; workflowThread: number; workerThreads: number[] } };
    const expected = createHash("sha256");
    for (let block = 0; block < 4; block += 1) expected.update(digest(block));
    expect(result.digest).toBe(expected.digest("hex"));
    expect(result.workflowThread).toBe(0);
    expect(result.workerThreads.length).toBeGreaterThan(0);
    expect(result.workerThreads).not.toContain(0);
  });

  it.each([
    [["--workers", "0"], '--workers must be a whole number from 1 to 256, got "0"'],
    [["--workers", "two"], '--workers must be a whole number from 1 to 256, got "two"'],
    [["--workers", "2", "--local-cloud"], "--workers is for the embedded engine: on --local-cloud every task runs in its own function's processes already"],
  ])("refuses %j, naming the fix", async (flags, message) => {
    const { code, stderr } = await cli("run", "examples/cpu-pool.ts", "crunch_all", "1", ...flags);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it("refuses --workers with --api: the run is not in this process", async () => {
    const { code, stderr } = await cli("run", "--api", "http://127.0.0.1:9", "crunch_all", "1", "--workers", "2");
    expect(code).toBe(2);
    expect(stderr).toContain("--api and --workers exclude each other");
  });
});
