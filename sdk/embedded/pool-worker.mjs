// The entry point tinypool loads in each worker thread of the embedded engine's pool
// (`createEngine({ workers })`). Plain JavaScript, so that plain Node can load it: from the
// package (dist/, where pool-thread.js sits beside this file) it registers tsx's loader only
// when the worker module is TypeScript; from the repository's sources it always needs tsx,
// which the thread may have already (a parent started with `--import tsx` passes it on).
import { existsSync } from "node:fs";
import { threadId, workerData } from "node:worker_threads";

const compiled = existsSync(new URL("./pool-thread.js", import.meta.url));
/** @type {Promise<{ runAttempt: (request: unknown, threadId: number) => Promise<void> }> | undefined} */
let thread;

/** @param {string} module */
async function load(module) {
  if (!compiled || /\.[cm]?tsx?$/.test(new URL(module).pathname)) await typeScript();
  return import(compiled ? "./pool-thread.js" : "./pool-thread.ts");
}

/**
 * Registers tsx unless this thread has it already: a worker inherits its parent's
 * `execArgv`, which names tsx when the parent was started by it (`tsx app.ts`, or
 * `node --import tsx`); registering twice would compile every file twice.
 */
async function typeScript() {
  if (process.execArgv.some((arg) => /(^|[\\/])tsx([\\/]|$)/.test(arg))) return;
  let tsx;
  try {
    tsx = await import("tsx/esm/api");
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new Error(
      "the worker module is TypeScript, which floe's worker threads load with tsx: install it in your project " +
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
