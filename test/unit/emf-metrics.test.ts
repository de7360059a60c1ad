/**
 * The worker's per-task metrics: the embedded-metric-format lines the worker handler
 * writes to stdout, once per invocation, parsed and checked against the attempts that
 * happened. The handler runs in process over a runtime on the in-memory adapters, with the
 * test's clock, so queue waits and durations are exact.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { task } from "floe";
import { createWorkerHandler } from "../../functions/worker.ts";
import { EMF_DIMENSIONS, EmfMetrics } from "../../sdk/aws/emf-metrics.ts";
import { queueWaitMs } from "../../sdk/runtime/attempt-watch.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { ManualClock } from "../support/manual-clock.ts";
import { sqsEvent } from "../support/sqs-event.ts";
import { takeAll } from "../support/take-all.ts";
import { FaultyStore } from "../faults/faulty-store.ts";

const T0 = 1_800_000_000_000;
let clock = new ManualClock(T0);
let flakyRuns = 0;
/** Fails its first attempt; each attempt takes 250 ms of the test's clock. */
const flaky = task("m_flaky", { retries: { limit: 2, delayMs: 1_000, backoff: "fixed" } }, async () => {
  flakyRuns += 1;
  clock.advance(250);
  if (flakyRuns === 1) throw new Error("first attempt fails");
  return "ok";
});
const doomed = task("m_doomed", async () => {
  throw new Error("always fails");
});
const quick = task("m_quick", async (n: number) => n);

interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  Deployment: string;
  Task: string;
  [metric: string]: unknown;
}

let written: string[] = [];
beforeEach(() => {
  written = [];
  clock = new ManualClock(T0);
  // The worker's stdout, as Lambda would send it to the log group.
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

/** The EMF lines written so far (other lines are not metrics). */
function lines(): EmfLine[] {
  return written.flatMap((chunk) => chunk.split("\n")).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as EmfLine);
}

/** Sums a count over the lines of `task`. */
function count(task: string, metric: string): number {
  return lines().filter((l) => l.Task === task).reduce((sum, l) => sum + ((l[metric] as number | undefined) ?? 0), 0);
}

function values(task: string, metric: string): number[] {
  return lines().filter((l) => l.Task === task).flatMap((l) => (l[metric] as number[] | undefined) ?? []);
}

function harness(store = new MemoryExecutionStore() as MemoryExecutionStore | FaultyStore) {
  const queue = new MemoryTaskQueue(clock);
  const metrics = new EmfMetrics({ namespace: "floe", deployment: "shop", now: () => clock.now() });
  const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, takeOverAfterMs: 900_000, watchers: [metrics] });
  const worker = createWorkerHandler({ runtime, log: () => undefined });
  return { runtime, queue, worker };
}

describe("worker metrics (EMF)", () => {
  it("counts a task that fails once then succeeds: 2 started, 1 retried, 1 completed, with each wait and duration", async () => {
    flakyRuns = 0;
    const { runtime, queue, worker } = harness();
    const run = runtime.submit(flaky);
    clock.advance(40);
    await worker(sqsEvent(takeAll(queue)));
    expect(lines()).toHaveLength(1);
    // The retry is due 1 s after the failure; its worker takes it 300 ms late.
    clock.advance(1_300);
    await worker(sqsEvent(takeAll(queue)));
    expect(await run.result()).toBe("ok");

    expect([count("m_flaky", "Started"), count("m_flaky", "Retried"), count("m_flaky", "Completed"), count("m_flaky", "Failed")]).toEqual([2, 1, 1, 0]);
    expect(values("m_flaky", "QueueWait")).toEqual([40, 300]);
    expect(values("m_flaky", "Duration")).toEqual([250, 250]);
  });

  it("writes one line per task per invocation in namespace floe, with a whole-deployment and a per-task dimension set", async () => {
    const { runtime, queue, worker } = harness();
    runtime.submit(quick, 1);
    runtime.submit(quick, 2);
    runtime.submit(doomed);
    await worker(sqsEvent(takeAll(queue)));

    const byTask = Object.fromEntries(lines().map((l) => [l.Task, l]));
    expect(Object.keys(byTask).sort()).toEqual(["m_doomed", "m_quick"]);
    const line = byTask.m_quick as EmfLine;
    expect(line._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: "floe",
        Dimensions: EMF_DIMENSIONS,
        Metrics: [
          { Name: "Started", Unit: "Count" },
          { Name: "Completed", Unit: "Count" },
          { Name: "Failed", Unit: "Count" },
          { Name: "Retried", Unit: "Count" },
          { Name: "QueueWait", Unit: "Milliseconds" },
          { Name: "Duration", Unit: "Milliseconds" },
        ],
      },
    ]);
    expect(line).toMatchObject({ Deployment: "shop", Started: 2, Completed: 2, Failed: 0, Retried: 0 });
    expect(line._aws.Timestamp).toBe(T0);
    expect(byTask.m_doomed).toMatchObject({ Started: 1, Completed: 0, Failed: 1, Retried: 0 });
  });

  it("still writes the figures of an invocation whose completion write failed, and counts no completion", async () => {
    const store = new FaultyStore(new MemoryExecutionStore());
    const { runtime, queue, worker } = harness(store);
    const execution = runtime.submit(quick, 7);
    await new Promise((resolve) => setImmediate(resolve));
    store.inject({ method: "update", id: execution.id, toState: "completed", mode: "before", times: 1 });
    clock.advance(10);
    const response = await worker(sqsEvent(takeAll(queue)));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: `msg-${execution.id}` }]);
    expect([count("m_quick", "Started"), count("m_quick", "Completed"), count("m_quick", "Failed")]).toEqual([1, 0, 0]);
    expect(values("m_quick", "QueueWait")).toEqual([10]);
    expect(values("m_quick", "Duration")).toEqual([0]);
  });

  it("splits a figure of more than 100 values over lines, the counts in the first only", () => {
    const metrics = new EmfMetrics({ namespace: "floe", deployment: "shop", write: (line) => written.push(line) });
    const record = { id: "x", runId: "x", taskName: "m_many", args: { inline: "[]" }, state: "running", attempt: 1, generation: 1, pending: 0, guarded: false, waitMode: "all", createdAt: 0, history: [] } as const;
    for (let i = 0; i < 150; i += 1) metrics.start({ ...record, history: [] }, 0).end({ ending: "completed", at: i });
    metrics.flush();
    metrics.flush();
    const [first, second, ...rest] = lines();
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ Started: 150, Completed: 150 });
    expect((first?.Duration as number[]).length).toBe(100);
    expect(second?.Started).toBeUndefined();
    expect(second?.Duration).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
  });
});

describe("queue wait", () => {
  const base = { id: "x", runId: "x", taskName: "t", args: { inline: "[]" }, state: "running", attempt: 2, generation: 1, pending: 0, guarded: false, waitMode: "all", createdAt: 0 } as const;
  it("runs from the later of queueing and the due time, and is not measured for a take-over or an inline attempt", () => {
    const retried = { ...base, notBefore: 1_000, history: [{ state: "queued", at: 400, attempt: 2 }, { state: "running", at: 1_250, attempt: 2 }] } as const;
    expect(queueWaitMs({ ...retried, history: [...retried.history] }, 1_250)).toBe(250);
    const woke = { ...base, history: [{ state: "sleeping", at: 100, attempt: 2 }, { state: "running", at: 900, attempt: 2 }] } as const;
    expect(queueWaitMs({ ...woke, history: [...woke.history] }, 900)).toBe(800);
    const takenOver = { ...base, history: [{ state: "running", at: 100, attempt: 1 }, { state: "running", at: 900, attempt: 2 }] } as const;
    expect(queueWaitMs({ ...takenOver, history: [...takenOver.history] }, 900)).toBeUndefined();
    const inline = { ...base, history: [{ state: "running", at: 100, attempt: 1 }] } as const;
    expect(queueWaitMs({ ...inline, history: [...inline.history] }, 100)).toBeUndefined();
  });
});
