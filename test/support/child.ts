/** A TypeScript file run as a process of its own, as a user runs it, read a line of JSON at a time. */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The environment of a process with nothing of floe's or AWS's configured. */
export const bareEnvironment: Record<string, string> = {
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};

/** A running child: `next()` gives its next line of output, parsed. */
export interface Child {
  next(): Promise<Record<string, unknown>>;
}

/**
 * Runs `script` (relative to the project root) under tsx, with exactly `env`.
 * @param args - its arguments
 */
export function runScript(script: string, args: readonly string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async next() {
      const line = await lines.next();
      if (line.done === true) throw new Error(`${script} ended without another line of output; its error output: ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

/** How a process ended, with everything it wrote. */
export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Collects a child's output until it ends. */
export function outcomeOf(child: ChildProcessByStdio<null, Readable, Readable>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
