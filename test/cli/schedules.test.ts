/** `floe schedules`: from a module, and from a `floe dev` server that runs them, paused and resumed. */
import { describe, expect, it } from "vitest";
import { cli, devServer } from "./support.ts";

const module = "test/cli/fixtures/scheduled.ts";

describe("floe schedules", () => {
  it("lists a module's scheduled workflows with their next ticks", async () => {
    const { code, stdout } = await cli("schedules", module, "--json");
    expect(code).toBe(0);
    const { schedules } = JSON.parse(stdout) as { schedules: { workflow: string; schedule: string; paused: boolean; next: string }[] };
    expect(schedules.map((s) => [s.workflow, s.schedule, s.paused])).toEqual([
      ["nightly_report", "cron 0 3 * * * (Europe/Paris)", false],
      ["quarter_hour", "every 15 minutes", false],
    ]);
    expect(new Date(schedules[1]!.next).getUTCMinutes() % 15).toBe(0);
  });

  describe("on a floe dev server", () => {
    const server = devServer(module);

    it("lists, pauses and resumes a schedule through the API", async () => {
      expect(server.output.log).toMatch(/schedule: quarter_hour every 15 minutes, next at /);
      const listed = await cli("schedules", "--api", server.url());
      expect(listed.stdout).toMatch(/^WORKFLOW +SCHEDULE +NEXT\nnightly_report +cron 0 3 \* \* \* \(Europe\/Paris\) +\d{4}-/);
      const paused = await cli("schedules", "pause", "quarter_hour", "--api", server.url());
      expect(paused).toMatchObject({ code: 0, stdout: expect.stringMatching(/quarter_hour +every 15 minutes +paused/) });
      expect((await cli("schedules", "--api", server.url())).stdout).toMatch(/quarter_hour +every 15 minutes +paused/);
      const resumed = await cli("schedules", "resume", "quarter_hour", "--api", server.url(), "--json");
      expect(JSON.parse(resumed.stdout)).toMatchObject({ schedules: [{ workflow: "quarter_hour", paused: false }] });
    });

    it("names the scheduled workflows when asked to pause another", async () => {
      const outcome = await cli("schedules", "pause", "plain", "--api", server.url());
      expect(outcome).toMatchObject({ code: 2, stderr: expect.stringContaining('no scheduled workflow is named "plain"; the scheduled workflows are: nightly_report, quarter_hour') });
    });
  });
});
