/**
 * `floe dev --local-cloud --data <dir>`: runs survive a restart. A run is stopped midway
 * (its task's retry waiting, its workflow suspended on it) by stopping the server; a new
 * server on the same folder sends the lost message again and finishes the run. A `--data`
 * that cannot hold the data, or without `--local-cloud`, is refused before anything starts.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { httpApi } from "../../sdk/cli/api-client.ts";
import { expectOneLine, floe, ownHome, serve, stop } from "./support.ts";

const module = "test/cli/fixtures/resumable.ts";

ownHome();

describe("floe dev --local-cloud --data", () => {
  it("finishes after a restart a run that was midway when the server stopped", { timeout: 300_000 }, async () => {
    const data = await mkdtemp(join(tmpdir(), "floe-dev-data-"));
    const first = { log: "" };
    const before = await serve(["dev", module, "--local-cloud", "--data", data, "--no-watch"], first, 120_000);
    expect(first.log).toContain(`runs are kept in ${data}`);
    const id = await httpApi(before.url).start("later", [21]);
    // Midway: the task's first attempt failed, its retry is queued for 30 s from then.
    await until(async () => (await httpApi(before.url).run(id))?.executions.some((e) => e.task === "retried_later" && e.attempt === 2) === true);
    await stop(before.child);

    const second = { log: "" };
    const after = await serve(["dev", module, "--local-cloud", "--data", data, "--no-watch"], second, 120_000);
    try {
      const api = httpApi(after.url);
      // An attempt that was running at the stop is taken over one visibility timeout (30 s)
      // after it started, which a loaded machine can push well past a minute.
      await until(async () => (await api.result(id)).state === "completed", 150_000, async () =>
        JSON.stringify({ run: await api.run(id).catch(String), log: second.log.slice(-4_000) }, undefined, 2),
      );
      expect((await api.result(id)).result).toBe(42);
    } finally {
      await stop(after.child);
    }
  });

  it("refuses a file as --data, naming it and the fix, before starting anything", { timeout: 30_000 }, async () => {
    const file = join(await mkdtemp(join(tmpdir(), "floe-dev-data-")), "a-file");
    await writeFile(file, "");
    expectOneLine(
      await floe(["dev", module, "--local-cloud", "--data", file, "--port", "0"]),
      2,
      new RegExp(`--data: the data folder "${file}" cannot hold the local cloud's data: it is a file, not a folder; give a folder`),
    );
  });

  it("refuses --data without --local-cloud", { timeout: 30_000 }, async () => {
    expectOneLine(await floe(["dev", module, "--data", "somewhere", "--port", "0"]), 2, /--data keeps the local cloud's runs: add --local-cloud/);
  });
});

async function until(condition: () => Promise<boolean>, budgetMs = 60_000, explain?: () => Promise<string>): Promise<void> {
  for (let waited = 0; waited < budgetMs; waited += 100) {
    if (await condition().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out${explain === undefined ? "" : `: ${await explain()}`}`);
}
