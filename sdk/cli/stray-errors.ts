/**
 * Keeps the `floe` command alive when task code raises an error nothing can catch: a
 * promise rejected with no handler (`void Promise.reject(...)` in a workflow), or a throw
 * in a timer's callback. By default Node ends the process on either, and `floe dev` would
 * lose every run it holds. Here the error fails the attempt that raised it, as a thrown
 * error would (its retries apply), and is logged with its execution; one that no attempt
 * raised is logged, and the command goes on.
 *
 * Only the command installs this: a library must not change how a user's own process
 * treats its crashes, so the embedded engine in a user's program leaves Node's default.
 */
import { failStrayError } from "../runtime/attempts.ts";

/**
 * Installs the process's `unhandledRejection` and `uncaughtException` listeners, once.
 *
 * @param write - where each report goes (stderr)
 */
export function catchStrayErrors(write: (line: string) => void = (line) => process.stderr.write(line)): void {
  if (installed) return;
  installed = true;
  process.on("unhandledRejection", (reason) => report("a promise rejected with no handler", reason, write));
  process.on("uncaughtException", (error) => report("an uncaught exception", error, write));
}

let installed = false;

function report(what: string, error: unknown, write: (line: string) => void): void {
  const source = failStrayError(error);
  const detail = describe(error);
  if (source === undefined) {
    write(`floe: ${what} outside any task (floe keeps running): ${detail}\n`);
    return;
  }
  const where = `task "${source.taskName}" (execution ${source.executionId}, attempt ${source.attempt})`;
  write(
    source.failed
      ? `floe: ${what} in ${where} failed that attempt, as if it had thrown it: ${detail}\n`
      : `floe: ${what} in ${where}, after that attempt had ended (it changes nothing): ${detail}\n`,
  );
}

/** floe's own folder: its frames under a task's stack say nothing about the user's code. */
const sdkDir = new URL("../", import.meta.url).pathname;

/** The error's stack down to floe's frames (it names the user's file and line), else its text. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const lines = (error.stack ?? `${error.name}: ${error.message}`).split("\n");
    const own = lines.findIndex((line, i) => i > 0 && (line.includes(sdkDir) || line.includes("node:async_hooks")));
    return (own === -1 ? lines : lines.slice(0, own)).join("\n");
  }
  try {
    return String(error);
  } catch {
    return "a value that cannot be shown";
  }
}
