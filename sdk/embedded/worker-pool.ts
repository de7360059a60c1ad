/**
 * The embedded engine's pool of worker threads (`createEngine({ workers })`): runs the code
 * of `runner: "worker"` tasks off the main thread, where the engine, the store and every
 * other task keep running. Each attempt is one tinypool task; its log lines and then its
 * outcome come back on a port of its own (see `pool-thread.ts`).
 */
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel } from "node:worker_threads";
import Tinypool from "tinypool";
import { decodeError } from "../codec/codec.ts";
import type { TaskDefinition } from "../define/registry.ts";
import { ErrorCode, FloeError } from "../errors.ts";
import { log } from "../logs/log.ts";
import { runInContext, type ExecutionContext } from "../runtime/context.ts";
import type { PoolMessage, PoolRequest } from "./pool-thread.ts";

/** Options of the worker pool: `createEngine({ workers })`. */
export interface WorkersOptions {
  /**
   * How many worker threads run `runner: "worker"` tasks at once; more wait for a thread
   * (holding their engine `concurrency` slot meanwhile).
   * @default the number of cores less one (the main thread's), at least 1
   */
  readonly count?: number;
  /**
   * The module each worker thread imports to find the task definitions: a path (relative
   * to the current directory) or a file URL, usually the module that defines the tasks
   * (`import.meta.url` there). It must define every `runner: "worker"` task the engine
   * runs, and should not start work when imported (submit from another module, or only
   * when `isMainThread` from `node:worker_threads`). A TypeScript module is loaded with tsx.
   */
  readonly module: string | URL;
}

/** The most threads a pool may have: each is a V8 isolate of its own (about 10 MB at rest). */
export const MAX_WORKERS = 256;

/** The pool's options once checked: the thread count and the module's file URL. */
export interface PoolSettings {
  readonly count: number;
  readonly module: string;
}

/** The default thread count: a thread per core, less the main thread's. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * Checks `createEngine`'s `workers` option.
 * @throws FloeError `FLOE_INVALID_OPTION` naming the bad field, the value and the fix
 */
export function poolSettings(workers: unknown): PoolSettings {
  if (typeof workers !== "object" || workers === null || workers instanceof URL) {
    throw invalid(`workers must be { count, module }, got ${show(workers)}; for example workers: { count: 4, module: import.meta.url }`);
  }
  const { count, module, ...rest } = workers as { count?: unknown; module?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw invalid(`workers has no option ${unknown.join(", ")}; its options are count and module`);
  if (count !== undefined && (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_WORKERS)) {
    throw invalid(`workers.count must be a whole number from 1 to ${MAX_WORKERS}, got ${show(count)}; leave it out for one thread per core less one`);
  }
  return { count: count ?? defaultWorkerCount(), module: moduleUrl(module) };
}

/** The worker module's file URL, checked to name a file. */
function moduleUrl(module: unknown): string {
  const fix = "give the module that defines the runner: \"worker\" tasks, as a path or a file URL (import.meta.url in that module)";
  if (module === undefined) throw invalid(`workers.module is required: ${fix}`);
  let path: string;
  try {
    if (module instanceof URL) path = fileURLToPath(module);
    else if (typeof module === "string" && module.startsWith("file:")) path = fileURLToPath(module);
    else if (typeof module === "string" && module.length > 0) path = isAbsolute(module) ? module : resolve(module);
    else throw new TypeError("not a path");
  } catch {
    throw invalid(`workers.module must be a path or a file URL, got ${show(module)}; ${fix}`);
  }
  if (!existsSync(path) || !statSync(path).isFile()) throw invalid(`workers.module names no file: ${path} does not exist; ${fix}`);
  return pathToFileURL(path).href;
}

function invalid(message: string): FloeError {
  return new FloeError(ErrorCode.InvalidOption, `invalid createEngine options: ${message}`);
}

function show(value: unknown): string {
  if (value instanceof URL) return value.href;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Worker threads that run attempts' code; made by the embedded engine, closed with it. */
export class WorkerPool {
  readonly #pool: Tinypool;
  readonly #module: string;

  /** @param settings - see {@link poolSettings} */
  constructor(settings: PoolSettings) {
    this.#module = settings.module;
    this.#pool = new Tinypool({
      filename: new URL("./pool-worker.mjs", import.meta.url).href,
      // Every thread starts with the engine and is kept while it lives: a thread's start
      // (an isolate, tsx, the module) costs far more than a task waiting for a thread.
      minThreads: settings.count,
      maxThreads: settings.count,
      idleTimeout: 2 ** 31 - 1,
      workerData: { module: settings.module },
    });
    // A thread that dies between attempts (a stray error of a finished attempt) is replaced
    // by the pool; said here, since an 'error' event with no listener would end the process.
    this.#pool.on("error", (error: unknown) => console.error("floe: a worker thread of the embedded engine's pool failed", error));
  }

  /**
   * Runs one attempt of `definition` on a thread; resolves to its encoded result, or
   * rejects with its error. An abort of the attempt (timeout, cancel, the engine closing)
   * terminates the thread running it, so its code really stops; the pool starts another.
   *
   * @param definition - the task
   * @param args - its encoded arguments
   * @param context - the attempt on the main thread, whose lines are the thread's lines
   */
  run(definition: TaskDefinition, args: string, context: ExecutionContext): Promise<string> {
    const { port1, port2 } = new MessageChannel();
    const stop = new AbortController();
    const { id, runId, taskName, attempt } = context.record;
    const request: PoolRequest = { module: this.#module, record: { id, runId, taskName, attempt }, args, port: port2 };
    return new Promise<string>((resolve, reject) => {
      const end = () => {
        port1.close();
        context.signal.removeEventListener("abort", abort);
      };
      const abort = () => {
        end();
        stop.abort();
        const reason: unknown = context.signal.reason;
        reject(reason instanceof Error ? reason : new Error(String(reason)));
      };
      port1.on("message", (message: PoolMessage) => {
        switch (message.type) {
          case "log":
            runInContext(context, log[message.level], [message.message, message.fields]);
            return;
          case "completed":
            end();
            resolve(message.result);
            return;
          case "failed":
            end();
            reject(decodeError(message.error));
            return;
          case "unloadable":
            end();
            reject(new FloeError(ErrorCode.InvalidOption, `a worker thread could not start "${definition.name}": ${message.message}`));
            return;
          default:
            throw new Error(`unknown pool message ${JSON.stringify(message satisfies never)}`);
        }
      });
      if (context.aborted) return abort();
      context.signal.addEventListener("abort", abort);
      // The outcome comes on the port; the pool's own answer matters only when the thread died.
      this.#pool.run(request, { transferList: [port2], signal: stop.signal }).catch((error: unknown) => {
        if (stop.signal.aborted) return;
        end();
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  /** Terminates every thread; attempts still running were aborted by the engine's close. */
  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
