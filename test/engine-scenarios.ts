/** The engine's scenarios, written once and run over each execution store. */
import { describe, expect, it } from "vitest";
import { ExecutionEngine, type ExecutionEngineOptions, type NewExecution } from "../sdk/engine/execution-engine.ts";
import { State, WaitMode, type TaskMessage } from "../sdk/engine/model.ts";
import type { Clock, ExecutionStore, TaskQueue } from "../sdk/engine/ports.ts";
import { MemoryBlobStore } from "../sdk/embedded/memory-blob-store.ts";
import { HISTORY_CAP } from "../sdk/engine/history.ts";

/** A queue that only records what was sent, so each test drives deliveries itself. */
export class RecordingQueue implements TaskQueue {
  readonly sent: { message: TaskMessage; delayMs: number | undefined }[] = [];
  async send(messages: readonly TaskMessage[], delayMs?: number): Promise<void> {
    for (const message of messages) this.sent.push({ message, delayMs });
  }
  ids(): string[] {
    return this.sent.map((s) => s.message.executionId);
  }
}

/** Makes a fresh, empty store for one scenario. */
export type StoreFactory = () => ExecutionStore | Promise<ExecutionStore>;

/** An engine over a fresh store, a recording queue and a clock that ticks once per reading. */
export async function setupWith(makeStore: StoreFactory, retryDelays: (number | undefined)[] = [], inlineFanIn?: number) {
  let now = 1_000;
  const clock: Clock = { now: () => (now += 1), schedule: () => () => undefined };
  // Typed as the port, which may answer later: the engine must work either way.
  const store: ExecutionStore = await makeStore();
  const queue = new RecordingQueue();
  const blobs = new MemoryBlobStore();
  const options: ExecutionEngineOptions = {
    store,
    queue,
    blobs,
    clock,
    blobThreshold: 100,
    policy: { retryDelayMs: (_name, _error, attempt) => retryDelays[attempt - 1], encodeError: (e) => String(e) },
    inlineFanIn,
  };
  return { engine: new ExecutionEngine(options), store, queue, blobs, options };
}

/** A new execution of run "run" waiting for `waitOn`. */
export const spec = (id: string, waitOn: string[] = [], refs: string[] = waitOn): NewExecution => ({
  id,
  runId: "run",
  taskName: "t",
  args: "[]",
  refs,
  waitOn,
});

/** A property of `target`, its methods bound to it (for proxies over stores with private fields). */
function bind(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property);
  return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** Claims the first message sent for `id` and completes that attempt. */
export async function runToCompletion(engine: ExecutionEngine, queue: RecordingQueue, id: string): Promise<void> {
  const sent = queue.sent.find((s) => s.message.executionId === id);
  if (sent === undefined) throw new Error(`${id} was never queued`);
  const claimed = await engine.claim(sent.message);
  if (claimed === undefined) throw new Error(`${id} could not be claimed`);
  await engine.finish(claimed, { type: "completed", result: "[1]" });
}

/**
 * The engine's scenarios over a store: run on the in-memory store here and on DynamoDB
 * Local by the adapter tests.
 */
export function engineScenarios(name: string, makeStore: StoreFactory): void {
  const setup = (retryDelays?: (number | undefined)[], inlineFanIn?: number) => setupWith(makeStore, retryDelays, inlineFanIn);
  describe(`ExecutionEngine over ${name}`, () => {
    it("queues an execution without upstreams at once", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("a"));
      expect(queue.ids()).toEqual(["a"]);
      expect((await store.get("a"))?.state).toBe(State.Queued);
    });

    it("keeps a downstream waiting until every upstream has finished, then queues it once", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u1"));
      await engine.register(spec("u2"));
      await engine.register(spec("d", ["u1", "u2"]));
      expect((await store.get("d"))).toMatchObject({ state: State.Waiting, pending: 2, guarded: false });
      await runToCompletion(engine, queue, "u1");
      expect(queue.ids()).not.toContain("d");
      await runToCompletion(engine, queue, "u2");
      await engine.releaseDependents("u2");
      await engine.releaseDependents("u1");
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
      expect((await store.get("d"))?.pending).toBe(0);
    });

    it("releases a downstream whose upstream finished before its edges were registered (T17)", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u"));
      await runToCompletion(engine, queue, "u");
      await engine.register(spec("d", ["u"]));
      expect((await store.get("d"))?.state).toBe(State.Queued);
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
    });

    it("releases each of 20 downstreams of one upstream once, whether registered before or after it finished, and twice", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u"));
      await engine.register(spec("other"));
      const early = Array.from({ length: 10 }, (_, i) => `early${i}`);
      const late = Array.from({ length: 10 }, (_, i) => `late${i}`);
      // Each downstream waits for the shared upstream and for one of its own.
      for (const id of early) await engine.register(spec(id, ["u", "other"]));
      await runToCompletion(engine, queue, "u");
      for (const id of late) await engine.register(spec(id, ["u", "other"]));
      // A repeated registration (a parent's retry) adds no edge and counts none again.
      for (const id of [...early, ...late]) await engine.register(spec(id, ["u", "other"]));
      for (const id of [...early, ...late]) expect((await store.get(id))?.pending, id).toBe(1);
      expect(queue.ids().filter((id) => id.startsWith("early") || id.startsWith("late"))).toHaveLength(0);
      await runToCompletion(engine, queue, "other");
      for (const id of [...early, ...late]) {
        expect((await store.get(id))?.state, id).toBe(State.Queued);
        expect(queue.ids().filter((sent) => sent === id), id).toHaveLength(1);
      }
      expect(await store.edgesFrom("u")).toHaveLength(20);
    });

    it("holds the registration guard so a fast upstream cannot queue the downstream early", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u1"));
      await engine.register(spec("u2"));
      // Simulate a registration interrupted after the record and its edges, before arming.
      const record = { ...(await store.get("u1"))!, id: "d", state: State.Waiting, pending: 2, guarded: true, history: [] };
      await store.create(record);
      await store.addEdges(
        ["u1", "u2"].map((up, slot) => ({ upstreamId: up, downstreamId: "d", runId: "run", kind: "argument" as const, waits: true, generation: 1, slot, released: false, createdAt: 0 })),
      );
      await runToCompletion(engine, queue, "u1");
      await runToCompletion(engine, queue, "u2");
      expect(queue.ids()).not.toContain("d");
      expect((await store.get("d"))?.pending).toBe(0);
      // Registering again finishes the interrupted registration: the guard goes, d is queued.
      await engine.register(spec("d", ["u1", "u2"]));
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
    });

    it("holds the registration guard against a release that counts the whole wait", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u"));
      // A registration interrupted after the record and its edge, before arming.
      await store.create({ ...(await store.get("u"))!, id: "d", state: State.Waiting, pending: 1, guarded: true, history: [] });
      await store.addEdges([{ upstreamId: "u", downstreamId: "d", runId: "run", kind: "argument", waits: true, generation: 1, fanIn: 1, slot: 0, attempt: 1, released: false, createdAt: 0 }]);
      await runToCompletion(engine, queue, "u");
      expect(await store.get("d")).toMatchObject({ state: State.Waiting, pending: 0 });
      expect(queue.ids()).not.toContain("d");
      await engine.register(spec("d", ["u"]));
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
    });

    it("counts each edge once however often it is released", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u"));
      await engine.register(spec("d", ["u"]));
      await runToCompletion(engine, queue, "u");
      await Promise.all([engine.releaseDependents("u"), engine.releaseDependents("u"), engine.releaseDependents("u")]);
      expect((await store.get("d"))?.pending).toBe(0);
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
    });

    it("releases the edges of many upstreams into one downstream in grouped writes, each edge counted once", async () => {
      const { engine, queue, store } = await setup(undefined, 2);
      const upstreams = Array.from({ length: 120 }, (_, i) => `u${i}`);
      await Promise.all(upstreams.map(async (id) => engine.register(spec(id))));
      await engine.register(spec("d", upstreams));
      // Wider than the engine releases inline: finishing leaves the edges to releaseDependents.
      await Promise.all(upstreams.map((id) => runToCompletion(engine, queue, id)));
      expect((await store.get("d"))?.pending).toBe(120);
      const groups: number[] = [];
      const release = store.release.bind(store);
      store.release = (edges) => {
        groups.push(edges.length);
        return release(edges);
      };
      // Overlapping batches at once, as two coordinators replaying each other's records.
      await Promise.all([upstreams.slice(0, 70), upstreams.slice(50)].map(async (batch) => engine.releaseDependents(batch)));
      expect(groups.every((n) => n <= 99)).toBe(true);
      expect(groups.length).toBeLessThanOrEqual(4);
      expect((await store.get("d"))).toMatchObject({ pending: 0, state: State.Queued });
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
      const run = await store.run("run");
      expect(run?.edges.filter((e) => e.downstreamId === "d")).toHaveLength(120);
    });

    it("sends again the first message of a run still queued and never started, and of no other", async () => {
      const { engine, queue } = await setup();
      // Roots: the first message of a run has no redelivery to repair it.
      await engine.register({ ...spec("lost"), runId: "lost" });
      await engine.register({ ...spec("started"), runId: "started" });
      const started = queue.sent.find((s) => s.message.executionId === "started");
      await engine.claim(started!.message);
      queue.sent.length = 0;
      expect(await engine.resendLost({ olderThanMs: 1_000_000, lookbackMs: 2_000_000 })).toEqual([]);
      expect(await engine.resendLost({ olderThanMs: 0, lookbackMs: 1_000_000 })).toEqual(["lost"]);
      expect(queue.ids()).toEqual(["lost"]);
    });

    it("repairs, when a finished execution's message is dead-lettered, the release and the send its handler failed", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u"));
      await engine.register(spec("d", ["u"]));
      await runToCompletion(engine, queue, "u");
      // The send of d's message failed, and u's message kept failing until the dead-letter queue.
      queue.sent.splice(queue.sent.findIndex((s) => s.message.executionId === "d"), 1);
      expect((await store.get("d"))?.state).toBe(State.Queued);
      await engine.abandon("u", new Error("dead-lettered"));
      expect((await store.get("u"))?.state).toBe(State.Completed);
      expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
    });

    it("drops a duplicate delivery: only one claim of an attempt succeeds", async () => {
      const { engine, queue } = await setup();
      await engine.register(spec("a"));
      const message = queue.sent[0]!.message;
      const claims = await Promise.all([engine.claim(message), engine.claim(message), engine.claim(message)]);
      expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    });

    it("lets only the current attempt commit", async () => {
      const { engine, queue, store } = await setup([5]);
      await engine.register(spec("a"));
      const first = (await engine.claim(queue.sent[0]!.message))!;
      const stale = { ...first };
      await engine.finish(first, { type: "failed", error: new Error("boom") });
      expect(queue.sent[1]).toMatchObject({ message: { executionId: "a", attempt: 2 }, delayMs: 5 });
      await engine.finish(stale, { type: "completed", result: "[1]" });
      expect(await store.get("a")).toMatchObject({ state: State.Queued, attempt: 2 });
    });

    it("resumes a suspended execution once all it awaits have finished", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u1"));
      await engine.register(spec("u2"));
      await engine.register(spec("p"));
      const running = (await engine.claim(queue.sent[2]!.message))!;
      await engine.finish(running, { type: "suspended", on: ["u1", "u2"], mode: WaitMode.All });
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, pending: 2, generation: 2 });
      await runToCompletion(engine, queue, "u1");
      expect((await store.get("p"))?.state).toBe(State.Suspended);
      await runToCompletion(engine, queue, "u2");
      expect((await store.get("p"))?.state).toBe(State.Queued);
      expect(queue.ids().filter((id) => id === "p")).toHaveLength(2);
    });

    it("resumes on the first of several when waiting for any, and ignores later releases of that generation", async () => {
      const { engine, queue, store } = await setup();
      for (const id of ["u1", "u2", "p"]) await engine.register(spec(id));
      const running = (await engine.claim(queue.sent[2]!.message))!;
      await engine.finish(running, { type: "suspended", on: ["u1", "u2"], mode: WaitMode.Any });
      await runToCompletion(engine, queue, "u1");
      expect(await store.get("p")).toMatchObject({ state: State.Queued, pending: 0 });
      const resumed = (await engine.claim(queue.sent.at(-1)!.message))!;
      await engine.finish(resumed, { type: "suspended", on: ["u2"], mode: WaitMode.All });
      expect(await store.get("p")).toMatchObject({ state: State.Suspended, pending: 1, generation: 3 });
      // u2 releases both its generation-2 edge (stale, ignored) and its generation-3 edge.
      await runToCompletion(engine, queue, "u2");
      expect(await store.get("p")).toMatchObject({ state: State.Queued, pending: 0 });
    });

    it("does not suspend on an upstream that finished before the suspension was registered", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("u"));
      await engine.register(spec("p"));
      await runToCompletion(engine, queue, "u");
      const running = (await engine.claim(queue.sent[1]!.message))!;
      await engine.finish(running, { type: "suspended", on: ["u"], mode: WaitMode.All });
      expect((await store.get("p"))?.state).toBe(State.Queued);
    });

    it("compacts the history of an execution re-run many times, keeping its first and last transitions and a count of the rest", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("p"));
      const steps = 20;
      for (let i = 0; i < steps; i += 1) {
        const message = queue.sent.findLast((s) => s.message.executionId === "p")!.message;
        const running = (await engine.claim(message))!;
        await engine.register(spec(`c${i}`));
        await engine.finish(running, { type: "suspended", on: [`c${i}`], mode: WaitMode.All });
        await runToCompletion(engine, queue, `c${i}`);
      }
      const last = (await engine.claim(queue.sent.findLast((s) => s.message.executionId === "p")!.message))!;
      await engine.finish(last, { type: "completed", result: "[1]" });
      const { history } = (await store.get("p"))!;
      expect(history.length).toBeLessThanOrEqual(HISTORY_CAP);
      expect(history.slice(0, 2).map((t) => t.state)).toEqual([State.Queued, State.Running]);
      expect(history.slice(-4).map((t) => t.state)).toEqual([State.Suspended, State.Queued, State.Running, State.Completed]);
      // Queued and first start, a suspension, a queueing and a start per step, then the end.
      expect(history.reduce((n, t) => n + (t.folded ?? 1), 0)).toBe(2 + 3 * steps + 1);
    });

    it("fails an execution once its retries are used up", async () => {
      const { engine, queue, store } = await setup([1]);
      await engine.register(spec("a"));
      await engine.finish((await engine.claim(queue.sent[0]!.message))!, { type: "failed", error: new Error("one") });
      await engine.finish((await engine.claim(queue.sent[1]!.message))!, { type: "failed", error: new Error("two") });
      const record = await store.get("a");
      expect(record).toMatchObject({ state: State.Failed, attempt: 2 });
      expect(record?.history.map((h) => h.state)).toEqual([State.Queued, State.Running, State.Queued, State.Running, State.Failed]);
    });

    it("stores payloads above the threshold in the blob store", async () => {
      const { engine, queue, store, blobs } = await setup();
      await engine.register({ ...spec("a"), args: JSON.stringify(["y".repeat(500)]) });
      await engine.finish((await engine.claim(queue.sent[0]!.message))!, { type: "completed", result: JSON.stringify("x".repeat(500)) });
      const record = await store.get("a");
      expect(record?.args).toMatchObject({ bytes: 504 });
      expect(await engine.read(record!.result!)).toBe(JSON.stringify("x".repeat(500)));
      expect(blobs.size).toBe(2);
    });

    it("cancels recursively and releases the dependents of what it cancelled", async () => {
      const { engine, queue, store } = await setup();
      await engine.register(spec("root"));
      await engine.register({ ...spec("child"), parentId: "root" });
      await engine.register({ ...spec("grandchild"), parentId: "child" });
      await engine.register(spec("d", ["grandchild"]));
      expect(await engine.cancel("root", new Error("stop"))).toEqual(["root", "child", "grandchild"]);
      expect((await store.get("d"))?.state).toBe(State.Queued);
      expect(await engine.claim(queue.sent[0]!.message)).toBeUndefined();
    });

    it("leaves the releases of what it cancelled to the coordinator when there is one", async () => {
      const { engine, store } = await setup(undefined, 8);
      await engine.register(spec("root"));
      await engine.register({ ...spec("child"), parentId: "root" });
      await engine.register(spec("d", ["child"]));
      const cancelled = await engine.cancel("root", new Error("stop"));
      expect((await store.get("d"))?.state).toBe(State.Waiting);
      // What the coordinator does for the terminal transitions on the stream.
      await engine.releaseDependents(cancelled);
      expect((await store.get("d"))?.state).toBe(State.Queued);
    });

    it("reads the run again for children created by an execution it found running, before it cancelled it", async () => {
      const { engine, queue, store, options } = await setup();
      await engine.register(spec("root"));
      await engine.register({ ...spec("child"), parentId: "root" });
      await engine.claim(queue.sent[1]!.message);
      // The running child submits between the sweep's read and its own cancellation.
      let reads = 0;
      const racing = new Proxy(store, {
        get(target, property) {
          if (property !== "executions") return bind(target, property);
          return async (runId: string) => {
            reads += 1;
            const found = await target.executions(runId);
            if (reads === 1) await engine.register({ ...spec("late"), parentId: "child" });
            return found;
          };
        },
      });
      const racingEngine = new ExecutionEngine({ ...options, store: racing });
      expect(await racingEngine.cancel("root", new Error("stop"))).toEqual(["root", "child", "late"]);
      expect((await store.get("late"))?.state).toBe(State.Cancelled);
      expect(reads).toBe(2);
    });

    it("encodes the reason once for a whole run, in one blob when it is large", async () => {
      const { engine, store, blobs } = await setup();
      await engine.register(spec("root"));
      for (const id of ["a", "b", "c"]) await engine.register({ ...spec(id), parentId: "root" });
      expect(await engine.cancel("root", new Error("x".repeat(500)))).toHaveLength(4);
      expect(blobs.size).toBe(1);
      const errors = await Promise.all(["root", "a", "b", "c"].map(async (id) => (await store.get(id))?.error));
      expect(new Set(errors.map((e) => JSON.stringify(e))).size).toBe(1);
    });
  });
}
