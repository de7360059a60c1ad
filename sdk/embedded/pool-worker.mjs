// The entry point tinypool loads in each worker thread of the embedded engine's pool
// (`createEngine({ workers })`). Plain JavaScript, so that plain Node can load it: from the
// package (dist/, where pool-thread.js sits beside this file) it needs tsx's loader only
// when the worker module is TypeScript; from the repository's sources it always does.
import { existsSync } from "node:fs";
import { threadId, workerData } from "node:worker_threads";

const compiled = existsSync(new URL("./pool-thread.js", import.meta.url));
/** @type {Promise<{ runAttempt: (request: unknown, threadId: number) => Promise<void> }> | undefined} */
let thread;

/**
 * Imports floe's side of the thread, after registering tsx if the thread needs TypeScript
 * (floe's sources, or a worker module in TypeScript) and cannot load it yet. Registered
 * twice, tsx would compile every file twice; and a thread does not inherit its parent's
 * loader (`tsx app.ts` starts threads without one), while some do have one (vitest's).
 * @param {string} module
 */
async function load(module) {
  const needsTypeScript = !compiled || /\.[cm]?tsx?$/.test(new URL(module).pathname);
  if (needsTypeScript && !(await loadsTypeScript())) await typeScript(module);
  return import(compiled ? "./pool-thread.js" : "./pool-thread.ts");
}

/**
 * Whether this thread loads TypeScript, tried on a file of its own: Node keeps a failed
 * import's error, so the file tried cannot be one imported later.
 */
async function loadsTypeScript() {
  try {
    await import("./pool-probe.ts");
    return true;
  } catch (error) {
    if (error?.code === "ERR_UNKNOWN_FILE_EXTENSION") return false;
    throw error;
  }
}

/** Registers tsx's loader on this thread. */
async function typeScript(module) {
  let tsx;
  try {
    tsx = await import("tsx/esm/api");
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new Error(
      `the worker module ${module} is TypeScript, which floe's worker threads load with tsx: install it in your project ` +
        "(npm install --save-dev tsx), or compile the module and give workers.module the .js file",
      { cause: error },
    );
  }
  tsx.register();
}

// Loaded as the thread starts, before it tells the pool it is ready, so the first attempt
// waits for nothing; a failure is reported to each attempt sent here.
const module = workerData?.[1]?.module;
if (typeof module === "string") {
  thread = load(module);
  await thread.catch(() => undefined);
}

/** Runs one attempt (see `pool-thread.ts`); its outcome goes back on `request.port`. */
export default async function run(request) {
  thread ??= load(request.module);
  let loaded;
  try {
    loaded = await thread;
  } catch (error) {
    request.port.postMessage({ type: "unloadable", threadId, message: String(error?.message ?? error) });
    request.port.close();
    return;
  }
  await loaded.runAttempt(request, threadId);
}
