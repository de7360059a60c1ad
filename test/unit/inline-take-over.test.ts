/**
 * A re-run of a caller whose earlier attempt died while its inline child ran (a Lambda
 * past its timeout, whose message came back and was taken over): the re-run takes the
 * child over and runs it again in its own attempt, and the earlier runner can no longer
 * commit. A runtime on the in-memory adapters, its messages delivered by hand, its clock
 * the test's.
 */
import { describe, expect, it } from "vitest";
import { task, taskContext, workflow } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { State, type ExecutionRecord } from "../../sdk/engine/model.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { encode } from "../../sdk/codec/codec.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { ManualClock } from "../support/sim-sqs.ts";
import { takeAll } from "../support/take-all.ts";
import { INLINE_WRITE_AFTER_MS } from "../../sdk/runtime/attempts.ts";

let runs = 0;
let releaseFirst: () => void = () => undefined;
/** Its first run hangs until released, as code whose Lambda reached its timeout. */
const hangsFirst = task("it_hangs_first", { inline: true }, async () => {
  runs += 1;
  if (runs === 1) await new Promise<void>((resolve) => (releaseFirst = resolve));
  return `attempt ${taskContext()?.attempt}`;
});
/** What each attempt of the caller got from its call. */
const got: string[] = [];
const caller = workflow("it_caller", async () => {
  got.push(await hangsFirst());
  return `got ${got.at(-1)}`;
});

describe("an inline execution left running by its caller's dead attempt", () => {
  it("is taken over and run again by the caller's next attempt; the earlier runner commits nothing", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryExecutionStore();
    const queue = new MemoryTaskQueue(clock);
    const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, takeOverAfterMs: 1_000 });
    const run = runtime.submit(caller);
    const [message] = takeAll(queue);
    const child = async (): Promise<ExecutionRecord | undefined> => (await runtime.getRun(run.id))?.executions.find((e) => e.taskName === "it_hangs_first");
    const first = runtime.process(message!);
    // Long enough that its record is written running (a shorter one is written once, done).
    while (runs === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    clock.advance(INLINE_WRITE_AFTER_MS);
    while ((await child())?.state !== State.Running) await new Promise((resolve) => setTimeout(resolve, 1));
    // The message comes back once the caller's attempt is a visibility timeout old.
    clock.advance(2_000);
    await runtime.process(message!);
    expect(await run.result()).toBe("got attempt 2");
    expect(runs).toBe(2);
    releaseFirst();
    await first;
    // The earlier attempt's caller gets the result recorded, not the one its runner could not commit.
    expect(got).toEqual(["attempt 2", "attempt 2"]);
    const done = await child();
    expect(done).toMatchObject({ state: State.Completed, attempt: 2 });
    expect(done?.history.map((h) => [h.state, h.attempt])).toEqual([
      [State.Running, 1],
      [State.Running, 2],
      [State.Completed, 2],
    ]);
    expect((await runtime.getExecution(run.id))?.history.map((h) => [h.state, h.attempt])).toEqual([
      [State.Queued, 1],
      [State.Running, 1],
      [State.Running, 2],
      [State.Completed, 2],
    ]);
    expect(takeAll(queue)).toEqual([]);
    await runtime.close();
  });
});

/** "theirs", encoded as a result is stored. */
const theirs = encode("theirs", "result", { idOf: () => undefined, revive: (id) => id }).text;
let releaseLost: () => void = () => undefined;
const lostChild = task("it_lost_child", { inline: true }, async () => {
  await new Promise<void>((resolve) => (releaseLost = resolve));
  return "mine";
});
const lostCaller = workflow("it_lost_caller", async () => lostChild());

describe("an inline execution whose record another run of its caller wrote first", () => {
  it("records nothing of its own run, and its caller gets the outcome recorded there", async () => {
    const clock = new ManualClock(1_000);
    /** Another run of the caller (a stale attempt) wrote the record, finished, just before this one's write. */
    class Raced extends MemoryExecutionStore {
      override create(record: ExecutionRecord): boolean {
        if (record.taskName === "it_lost_child") {
          super.create({ ...record, state: State.Completed, result: { inline: theirs }, finishedAt: clock.now() });
        }
        return super.create(record);
      }
    }
    const store = new Raced();
    const queue = new MemoryTaskQueue(clock);
    const runtime = new Runtime({ store, queue, blobs: new MemoryBlobStore(), clock, ids: cryptoIds, takeOverAfterMs: 60_000 });
    const run = runtime.submit(lostCaller);
    const done = runtime.process(takeAll(queue)[0]!);
    // Running past a second: its record is written running, and that write finds the other's.
    for (let i = 0; i < 100 && runtime.awaitedIds().length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 1));
    clock.advance(INLINE_WRITE_AFTER_MS);
    await new Promise((resolve) => setTimeout(resolve, 5));
    releaseLost();
    await done;
    expect(await run.result()).toBe("theirs");
    const child = (await runtime.getRun(run.id))?.executions.find((e) => e.taskName === "it_lost_child");
    expect(child).toMatchObject({ state: State.Completed, result: { inline: theirs } });
    await runtime.close();
  });
});
