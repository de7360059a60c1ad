/**
 * The local cloud on a data folder: runs outlive the process. A run is stopped midway
 * (its task running, blocked on a promise this test holds, a `wait: true` task waiting on
 * it), the cloud closed as a stopping `floe dev` closes it, and a new cloud on the same
 * folder takes the running attempt over as after a crash and finishes the run with the
 * right result. Without a folder nothing outlives the cloud; a folder that cannot hold the
 * data is refused before anything starts.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sleep, task, workflow, type Execution } from "floe";
import { startLocalCloud } from "floe/local-cloud";
import { errorCode } from "../../sdk/errors.ts";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";

/** Attempts of `dd_gate` hold here until the test lets them go. */
let release: (value: string) => void = () => undefined;
let gate = new Promise<string>((resolve) => (release = resolve));
const attempts: number[] = [];

const held = task("dd_gate", async (x: number) => {
  attempts.push(x);
  return `${await gate}:${x}`;
});
const joined = task("dd_join", { wait: true }, async (a: Execution<string>) => `joined(${await a.result()})`);
const resumable = workflow("dd_resumable", async (x: number) => joined.submit(held.submit(x)));
const napper = workflow("dd_napper", async () => {
  await sleep(3_000);
  return "rested";
});

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("the local cloud with a data folder", () => {
  it("finishes after a restart a run that was midway when it stopped", { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "floe-data-"));
    // A take-over is due a visibility timeout after the attempt started: one second here.
    const options = { dataDir, visibilityTimeoutSeconds: 1, prefix: "dd" };
    const first = await startLocalCloud(options);
    const run = first.submit(resumable, 7);
    await until(() => attempts.length === 1, "the gate's first attempt");
    // Midway: the gate running, the join waiting on it (the root may still be writing its forward).
    const states = async () => (await first.getRun(run.id))?.executions.map((e) => `${e.task} ${e.state}`).sort().join(", ");
    await until(async () => (await states()) === "dd_gate running, dd_join waiting, dd_resumable completed", "the run midway");
    await first.close();

    // The stopped process's attempt may not finish: its gate is never opened.
    gate = new Promise<string>((resolve) => (release = resolve));
    release("opened");
    // The runtime, not the facade: it can wait on an execution it did not submit.
    const second = await startLocalCloudRuntime(options);
    try {
      // The run's first execution object belongs to the closed cloud: read it through the new one.
      expect(await second.reference(run.id).result()).toBe("joined(opened:7)");
      expect(attempts).toEqual([7, 7]);
      const after = await second.getRun(run.id);
      expect(after?.executions.find((e) => e.taskName === "dd_gate")?.attempt).toBe(2);
    } finally {
      await second.close();
    }
  });

  it("wakes after a restart a run that was sleeping when it stopped", { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "floe-data-"));
    const options = { dataDir, visibilityTimeoutSeconds: 1, prefix: "dz" };
    const first = await startLocalCloud(options);
    const run = first.submit(napper);
    await until(async () => (await first.getExecution(run.id))?.state === "sleeping", "the run asleep");
    const { wakeAt } = (await first.getExecution(run.id))!;
    await first.close();
    const second = await startLocalCloudRuntime(options);
    try {
      expect(await second.reference(run.id).result()).toBe("rested");
      const woke = (await second.getExecution(run.id))!.history.find((h, i, all) => all[i - 1]?.state === "sleeping");
      expect(woke?.state).toBe("running");
      expect(woke!.at).toBeGreaterThanOrEqual(wakeAt!);
    } finally {
      await second.close();
    }
  });

  it("keeps nothing without one", { timeout: 120_000 }, async () => {
    const first = await startLocalCloud({ prefix: "mem" });
    const id = first.submit(held, 1).id;
    await first.close();
    const second = await startLocalCloud({ prefix: "mem" });
    try {
      expect(await second.getRun(id)).toBeUndefined();
    } finally {
      await second.close();
    }
  });

  it("refuses a file, or a folder that cannot be made, naming it and the fix, before starting anything", async () => {
    const dir = await mkdtemp(join(tmpdir(), "floe-data-"));
    const file = join(dir, "a-file");
    await writeFile(file, "");
    for (const [dataDir, problem] of [
      [file, "it is a file, not a folder"],
      [join(file, "below"), "it cannot be written (ENOTDIR)"],
    ] as const) {
      const error = await startLocalCloud({ dataDir }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(errorCode(error)).toBe("FLOE_INVALID_OPTION");
      expect(error?.message).toBe(
        `the data folder "${dataDir}" cannot hold the local cloud's data: ${problem}; ` +
          "give a folder floe can create or write to, or leave it out to keep everything in memory",
      );
    }
  });
});
