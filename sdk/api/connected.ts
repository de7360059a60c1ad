/**
 * The runtime of a function connected to a deployed orchestrator (`orchestrator.connect(fn)`
 * sets its table, bucket and queue prefix): a top-level `submit` writes the execution to
 * the table and sends its message to the task's queue, as the HTTP API does, and runs
 * nothing in this process. Its waits read the table, since no task of its own finishes.
 *
 * The AWS adapters are loaded at the first request, not when the runtime is made: `submit`
 * answers at once, and a process that never submits (an embedded user importing floe)
 * never loads the AWS SDK.
 */
import type { AwsPorts } from "../aws/aws-runtime.ts";
import { EnvironmentVariable as V } from "../aws/contract.ts";
import type { Environment } from "../aws/environment.ts";
import type { BlobStore, ExecutionStore, LimitStore, TaskQueue } from "../engine/ports.ts";
import { Runtime } from "../runtime/runtime.ts";
import { cryptoIds, systemClock } from "../runtime/system.ts";

/**
 * How a connected function's `result()` polls the table: after 250 ms, then at doubling
 * intervals up to a second (a `GetItem` per awaited execution each time).
 */
export const CONNECTED_POLL = { firstMs: 250, maxMs: 1_000 } as const;

/**
 * Makes the runtime of a connected function.
 *
 * @param env - its settings, from the environment
 * @param load - makes the AWS adapters (`createAwsPorts`), called once, at the first request
 */
export function createConnectedRuntime(env: Environment, load: () => Promise<AwsPorts>): Runtime {
  let ports: Promise<AwsPorts> | undefined;
  const loaded = () => (ports ??= load());
  return new Runtime({
    store: { ...deferred<Omit<ExecutionStore, "limits">>(loaded, "store", storeMethods), limits: deferredLimits(loaded) },
    queue: deferred<TaskQueue>(loaded, "queue", { send: true }),
    blobs: deferred<BlobStore>(loaded, "blobs", { put: true, get: true }),
    clock: systemClock,
    ids: cryptoIds,
    inlineFanIn: env[V.InlineFanIn],
    pollTopLevel: CONNECTED_POLL,
  });
}

// A record of every method, so that a method added to the port fails the type check here.
const storeMethods: Record<Exclude<keyof ExecutionStore, "limits">, true> = {
  create: true,
  get: true,
  getMany: true,
  update: true,
  addEdges: true,
  release: true,
  edgesFrom: true,
  children: true,
  executions: true,
  run: true,
  runs: true,
  putIdempotencyRecord: true,
  callbackKey: true,
  queued: true,
  getReuseRecord: true,
  putReuseRecord: true,
};

const limitMethods: Record<keyof LimitStore, true> = { acquire: true, slots: true, vacate: true, hold: true, unhold: true, waiters: true, countStart: true };

/** The store's limit counters, once the adapter is loaded (a client submitting a limited task passes its limits). */
function deferredLimits(ports: () => Promise<AwsPorts>): LimitStore {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of Object.keys(limitMethods)) {
    out[method] = async (...args) => {
      const adapter = (await ports()).store.limits as unknown as Record<string, (...a: unknown[]) => unknown> | undefined;
      if (adapter === undefined) throw new Error("the store has no limit counters");
      return (adapter[method] as (...a: unknown[]) => unknown).apply(adapter, args);
    };
  }
  return out as unknown as LimitStore;
}

/** A port whose every method waits for the adapter to be loaded, then calls it. */
function deferred<T extends object>(ports: () => Promise<AwsPorts>, port: keyof AwsPorts, methods: Record<keyof T, true>): T {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of Object.keys(methods)) {
    out[method] = async (...args) => {
      const adapter = (await ports())[port] as unknown as Record<string, (...a: unknown[]) => unknown>;
      return (adapter[method] as (...a: unknown[]) => unknown).apply(adapter, args);
    };
  }
  return out as unknown as T;
}
