/**
 * Running the `floe` command as a user runs it, for the tests of this folder: the bin under
 * Node with tsx's loader, in a process of its own, or `main` in this process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { main } from "../../sdk/cli/main.ts";
import { outcomeOf, type Outcome } from "../support/child.ts";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const bin = fileURLToPath(new URL("../../sdk/cli/floe.mjs", import.meta.url));

export type { Outcome };

/**
 * Gives the file's tests a home folder of their own, where `floe dev` and `floe dashboard`
 * keep their secret; answers a getter of its path.
 */
export function ownHome(): () => string {
  let home = "";
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "floe-cli-home-"));
    vi.stubEnv("HOME", home);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });
  return () => home;
}

/** Runs `floe args...` in a process of its own. */
export function floe(args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> {
  return outcomeOf(spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, FLOE_API: "", ...env }, stdio: ["ignore", "pipe", "pipe"] }));
}

/** Runs `floe args...` in this process, capturing what it writes. */
export async function cli(...args: string[]): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(["node", "floe", ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Starts `floe <args>` as a server; resolves once it says where it serves. */
export async function serve(args: readonly string[], output: { log: string }, waitMs = 15_000): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, ...args, "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (chunk: Buffer) => (output.log += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output.log += chunk.toString()));
  let url = "";
  for (let waited = 0; url === "" && child.exitCode === null && waited < waitMs; waited += 50) {
    url = /at (http:\/\/\S+)\//.exec(output.log)?.[1] ?? "";
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (url === "") {
    child.kill("SIGKILL");
    throw new Error(`floe ${args[0] ?? ""} did not start: ${output.log}`);
  }
  return { child, url };
}

/** A `floe dev <module> --no-watch` server for the enclosing `describe`'s tests. */
export interface DevServer {
  /** Its process, once started. */
  readonly child: () => ChildProcess;
  /** Where it serves, once started. */
  readonly url: () => string;
  /** Everything it has written. */
  readonly output: { log: string };
}

/** Starts a {@link DevServer} before the enclosing `describe`'s tests and stops it after them. */
export function devServer(module: string): DevServer {
  let started: { child: ChildProcess; url: string } | undefined;
  const output = { log: "" };
  beforeAll(async () => {
    started = await serve(["dev", module, "--no-watch"], output);
  }, 30_000);
  afterAll(() => (started === undefined ? undefined : stop(started.child)));
  const ready = () => {
    if (started === undefined) throw new Error(`floe dev ${module} has not started`);
    return started;
  };
  return { child: () => ready().child, url: () => ready().url, output };
}

/** Stops a server started by {@link serve} and waits for its process to end. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/** One line on stderr that names the problem, and no stack. */
export function expectOneLine(outcome: Outcome, code: number, text: RegExp): void {
  expect(outcome.code).toBe(code);
  expect(outcome.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(outcome.stderr).toMatch(/^floe: /);
  expect(outcome.stderr).toMatch(text);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
}
