/**
 * The `floe` command's smaller behaviours: arguments shown as written (`undefined`, not
 * `null`), Ctrl-C on `floe run` naming the run and where to see it, `floe dashboard`
 * logging under its own name, and the AWS SDK's Node notice said once, in one line.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { bin, cli, devServer, floe, ownHome, root, serve, stop, type Outcome } from "./support.ts";

const module = "test/cli/fixtures/values.ts";
const sdkNoticeSwitch = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

ownHome();

describe("floe run --local-cloud", () => {
  it("shows an undefined argument as undefined, and the AWS SDK's Node notice once, in one line", { timeout: 120_000 }, async () => {
    // The tests' configuration silences the SDK's notice; a user's shell does not.
    const { code, stdout, stderr } = await floe(["run", "--local-cloud", module, "passes_undefined", "--no-progress"], { [sdkNoticeSwitch]: "" });
    expect(code).toBe(0);
    expect(stdout).toContain("show(1, undefined, 12n) │");
    expect(stderr).not.toContain("NodeVersionSupportWarning");
    const notices = stderr.split("\n").filter((line) => line.includes("Node 22"));
    expect(notices).toHaveLength(Number(process.versions.node.split(".")[0]) < 22 ? 1 : 0);
    notices.forEach((line) => expect(line).toMatch(new RegExp(`^floe: .*upgrade Node .*${sdkNoticeSwitch}=true silences this line`)));
  });
});

describe("floe run --json", () => {
  it("gives each execution's arguments as a call shows them, beside their JSON", { timeout: 30_000 }, async () => {
    const { stdout } = await floe(["run", module, "passes_undefined", "--json"]);
    const show = (JSON.parse(stdout) as { executions: { task: string; args: unknown; argsText?: string }[] }).executions.find((e) => e.task === "show");
    expect(show).toMatchObject({ args: [1, null, "12"], argsText: "1, undefined, 12n" });
  });
});

describe("Ctrl-C on floe run", () => {
  it("on the embedded engine, names the run and says it ends with the process", { timeout: 30_000 }, async () => {
    const { code, stderr } = await interrupt(["run", module, "forever"]);
    expect(code).toBe(130);
    expect(stderr).toMatch(/floe run: stopped run \S+ before it finished; on the embedded engine a run lives in this process and ends with it/);
  });

  describe("with --api", () => {
    const dev = devServer(module);

    it("names the run and how to inspect it, and the run goes on", { timeout: 30_000 }, async () => {
      const url = dev.url();
      const { code, stderr } = await interrupt(["run", "--api", url, "forever"]);
      expect(code).toBe(130);
      const id = new RegExp(`floe run: stopped following run (\\S+); it goes on at ${url}: see it with \`floe inspect \\1 --api ${url}\``).exec(stderr)?.[1];
      expect(id).toBeDefined();
      const inspected = await cli("inspect", id ?? "", "--api", url);
      expect(inspected.stdout).toMatch(/^forever\(\) +running…/);
    });
  });
});

describe("floe dashboard", () => {
  it("logs as floe dashboard", { timeout: 30_000 }, async () => {
    const output = { log: "" };
    const { child } = await serve(["dashboard", "--api", "http://127.0.0.1:9"], output);
    await stop(child);
    expect(output.log).toMatch(/^floe dashboard: serving the dashboard at http:\/\/127\.0\.0\.1:\d+\/ for the floe API at http:\/\/127\.0\.0\.1:9\n/);
    expect(output.log).not.toContain("floe dev");
  });
});

/** Runs `floe args...`, and sends it SIGINT once its progress shows the run running. */
function interrupt(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, FLOE_API: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      // Once: a second Ctrl-C ends the process at once, as Node's default does.
      if (stderr.includes("1 running") && !interrupted) interrupted = child.kill("SIGINT");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
