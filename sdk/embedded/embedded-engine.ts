/** The embedded engine: the whole execution model in one process, with no AWS account. */
import * as z from "../zod.ts";
import type { Clock, IdSource } from "../engine/ports.ts";
import { ErrorCode, FloeError } from "../errors.ts";
import { engineOf, type Engine } from "../api/engine.ts";
import { Runtime } from "../runtime/runtime.ts";
import { keyedIds, systemClock } from "../runtime/system.ts";
import { MemoryBlobStore } from "./memory-blob-store.ts";
import { MemoryExecutionStore } from "./memory-execution-store.ts";
import { MemoryTaskQueue } from "./memory-task-queue.ts";
import { Semaphore } from "./slots.ts";
import type { RunEvent } from "../events/run-event.ts";
import { finishedRunEvents } from "../events/forwarded-run.ts";
import { drive, isPromiseLike } from "../engine/step.ts";
import { MemoryExecutionLogs } from "../logs/memory-execution-logs.ts";
import { WorkerPool, poolSettings, type WorkersOptions } from "./worker-pool.ts";

const startsPerTurn = 256;

function crashed(error?: unknown): void {
  // A store failure outside any attempt: in memory this is a bug in floe, so say so loudly.
  if (error !== undefined) console.error("floe: the embedded engine failed to process a message", error);
}

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /**
   * How many tasks may run at once. An execution that is only waiting (on `result()`,
   * `wait()` or `asCompleted()`) holds no slot, so nested waits never deadlock.
   * @default 64
   */
  readonly concurrency?: number;
  /**
   * How long `result()` inside a task waits in process before the task suspends and is
   * re-run from the start when what it awaits has finished, as it does in the cloud.
   * `0` always suspends, which tests the cloud's re-run path on the embedded engine.
   * @default undefined (never suspends)
   */
  readonly suspendAfterMs?: number;
  /**
   * Encoded payloads longer than this many characters go to the blob store.
   * @default 32768
   */
  readonly blobThreshold?: number;
  /**
   * The largest encoded arguments or result accepted, in characters: larger arguments are
   * refused at `submit`, a larger result fails its execution.
   * @default 10485760 (10 MiB)
   */
  readonly maxPayloadBytes?: number;
  /**
   * Time and timers.
   * @default the system clock
   */
  readonly clock?: Clock;
  /**
   * Run ids and derived child ids.
   * @default random UUIDs and SHA-256 digests
   */
  readonly ids?: IdSource;
  /**
   * Told of each completion event, as the coordinator publishes them in AWS (`sdk/events/`):
   * a run's end, and the failure of an execution nothing waits for. An error it throws is
   * logged, and changes nothing.
   */
  readonly onRunEvent?: (event: RunEvent) => void;
  /**
   * The base of external executions' callback URLs (`<base>/callbacks/<token>`): the URL of
   * a server that hands `POST /callbacks/{token}` to this engine. Without it they are relative.
   */
  readonly callbackBaseUrl?: string;
  /**
   * Print each line a task logs (`log`, `console` inside a task) as the console would, as
   * well as keeping it with its execution; `false` only keeps it.
   * @default true
   */
  readonly printLogs?: boolean;
  /**
   * Runs every attempt inside an OpenTelemetry span (`floe.task <task>`) whose parent is the
   * span that submitted it, so a run is one trace. Spans go to the tracer provider you
   * register with `@opentelemetry/api` (an SDK and an exporter of your choice).
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * A pool of worker threads for the code of tasks marked `runner: "worker"` (CPU-bound
   * work): `count` threads, each importing `module` to find the task definitions. The
   * engine, the store, submissions and waits stay on the main thread, and so does the code
   * of every other task. Without it, `runner: "worker"` tasks run on the main thread.
   * @default no pool
   * @example
   * const engine = createEngine({ workers: { count: 4, module: import.meta.url } });
   */
  readonly workers?: WorkersOptions;
}

const optionsSchema = z.strictObject({
  concurrency: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(100_000))),
  suspendAfterMs: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(2 ** 31 - 1))),
  blobThreshold: z.optional(z.number().check(z.int(), z.minimum(1))),
  maxPayloadBytes: z.optional(z.number().check(z.int(), z.minimum(1))),
  clock: z.optional(z.custom<Clock>((v) => typeof v === "object" && v !== null)),
  ids: z.optional(z.custom<IdSource>((v) => typeof v === "object" && v !== null)),
  callbackBaseUrl: z.optional(z.url({ error: 'callbackBaseUrl must be an absolute URL, such as "https://api.example.com"' })),
  onRunEvent: z.optional(z.custom<(event: RunEvent) => void>((v) => typeof v === "function", { error: "onRunEvent must be a function" })),
  printLogs: z.optional(z.boolean({ error: "printLogs must be true or false" })),
  tracing: z.optional(z.boolean({ error: "tracing must be true or false" })),
  // Checked by poolSettings, whose messages name each field.
  workers: z.optional(z.unknown()),
});

/**
 * The embedded engine's runtime, with its in-memory adapters exposed for floe's tests and
 * tools; users get its {@link Engine} facade from {@link createEngine}.
 */
export class EmbeddedEngine extends Runtime {
  readonly memory: {
    readonly store: MemoryExecutionStore;
    readonly queue: MemoryTaskQueue;
    readonly blobs: MemoryBlobStore;
    readonly logs: MemoryExecutionLogs;
  };

  /** @param options - see {@link EngineOptions} */
  constructor(options: EngineOptions = {}) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`);
      throw new FloeError(
        ErrorCode.InvalidOption,
        `invalid createEngine options: ${problems.join("; ")} (concurrency is a whole number from 1 to 100000)`,
      );
    }
    // Checked before anything is made: a refused option leaves nothing running.
    const pool = options.workers === undefined ? undefined : new WorkerPool(poolSettings(options.workers));
    const clock = options.clock ?? systemClock;
    const store = new MemoryExecutionStore();
    const queue = new MemoryTaskQueue(clock);
    const blobs = new MemoryBlobStore();
    const logs = new MemoryExecutionLogs();
    let pump = (): void => undefined;
    const slots = new Semaphore(options.concurrency ?? 64, () => pump());
    super({
      store,
      queue,
      blobs,
      clock,
      ids: options.ids ?? keyedIds(),
      ...(options.blobThreshold === undefined ? {} : { blobThreshold: options.blobThreshold }),
      ...(options.suspendAfterMs === undefined ? {} : { suspendAfterMs: options.suspendAfterMs }),
      ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes }),
      ...(options.callbackBaseUrl === undefined ? {} : { callbackBaseUrl: options.callbackBaseUrl }),
      ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
      slots,
      // Kept with the execution, and printed as before: the console is the user's terminal.
      logs: { sink: logs, reader: logs, echo: options.printLogs ?? true },
      onClose: async () => {
        queue.close();
        await pool?.close();
      },
      ...(pool === undefined ? {} : { runOnWorker: (definition, args, context) => pool.run(definition, args, context) }),
      ...(options.onRunEvent === undefined ? {} : { onTerminal: runEventsOf(store, options.onRunEvent) }),
    });
    this.memory = { store, queue, blobs, logs };
    // Start queued work while slots are free, but at most `startsPerTurn` attempts before
    // the event loop turns: thousands started at once all stay alive together and swamp
    // the garbage collector.
    let budget = startsPerTurn;
    let refill = false;
    pump = () => {
      while (!this.closed && queue.ready > 0 && budget > 0 && slots.tryAcquire()) {
        const message = queue.take();
        if (message === undefined) throw new Error("a ready message vanished from the embedded queue");
        budget -= 1;
        // dispatch() releases the message's slot when it is done.
        this.dispatch(message, crashed);
      }
      if (budget === 0 && !refill) {
        refill = true;
        setImmediate(() => {
          refill = false;
          budget = startsPerTurn;
          pump();
        });
      }
    };
    // Messages are sent from inside engine steps: start their work once the step is over.
    let pumpQueued = false;
    queue.onReady(() => {
      if (pumpQueued) return;
      pumpQueued = true;
      queueMicrotask(() => {
        pumpQueued = false;
        pump();
      });
    });
  }

}

/**
 * Creates an embedded engine: the execution model in this process, with in-memory
 * adapters. The analogue of Prefect's `ThreadPoolTaskRunner(max_workers)`.
 *
 * @param options - concurrency and, for tests, suspension, clock and ids
 * @returns an {@link Engine}: `submit`, `map`, `getRun`, `getExecution`, `getLogs`, `listRuns`, `cancel`, `close`
 * @throws FloeError `FLOE_INVALID_OPTION` for bad options
 * @example
 * const engine = createEngine({ concurrency: 3 });
 * const run = engine.submit(elevator, 10);
 * await run.result();
 * console.log(await engine.getRun(run));
 * await engine.close();
 */
export function createEngine(options: EngineOptions = {}): Engine {
  return engineOf(new EmbeddedEngine(options));
}

/**
 * Creates an embedded engine's runtime itself, internals and all: for floe's own tools (the
 * CLI's in-process API, the default engine) and tests. Not exported by the package.
 *
 * @param options - as {@link createEngine}'s
 * @throws FloeError `FLOE_INVALID_OPTION` for bad options
 */
export function createEmbeddedRuntime(options: EngineOptions = {}): EmbeddedEngine {
  return new EmbeddedEngine(options);
}

/**
 * What tells `onRunEvent` of the events, if any, of each execution that finishes in
 * `store`: at once, since the memory store answers at once (a forwarding run's when the end
 * of its chain finishes).
 */
function runEventsOf(store: MemoryExecutionStore, onRunEvent: (event: RunEvent) => void): (id: string) => void {
  return (id) => {
    const record = store.get(id);
    let found: RunEvent[] | PromiseLike<unknown> = [];
    try {
      if (record !== undefined) found = drive(finishedRunEvents(store, record, store.edgesFrom(id).length));
    } catch (error) {
      console.error(`floe: the completion events of ${id} could not be made`, error);
    }
    if (isPromiseLike(found)) throw new Error("the memory store answered later: the embedded engine's events would be late");
    for (const event of found) {
      try {
        onRunEvent(event);
      } catch (error) {
        console.error(`floe: onRunEvent threw on ${event.detailType} of ${id}`, error);
      }
    }
  };
}
