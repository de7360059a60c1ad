/**
 * T19 (and T1): a model-based test. fast-check draws a random DAG of tasks and a schedule
 * of deliveries and faults: messages delivered once, two or three times at the same time
 * (T1) or redelivered, store writes and SQS sends that fail before or after they apply.
 * The worker and coordinator handlers run over a store (in memory, or DynamoDB Local), on a
 * clock the test moves, with take-overs after a visibility timeout as in AWS. Safety is
 * checked after every step, each execution claimed once per attempt included; once the
 * faults stop, the event sources keep delivering the messages that exist (none is made up:
 * a lost send must be repaired by floe, not by the test) until the system is quiet, and
 * then every execution must be completed with the value the model computes.
 *
 * A limited scenario runs the same DAG as executions of a task with a concurrency limit (1
 * or 2, keyed by the node's index mod 2, so two keys), with faults of the limit store's
 * writes drawn too: after every step, per key, no more executions are `running` than the
 * limit (a crashed attempt's record stays `running` until its take-over, which keeps its
 * slot), and at the end every slot is free again. Its ids and the interleaving of handlers
 * running at once are drawn from a seed, so a counterexample replays. A rate-limited
 * scenario (1 or 2 starts a second per key, alone or with a concurrency limit) has its
 * messages' delays honoured, the clock moving to each delivery, and checks every start
 * against the starts the window counters gave (see checkRate).
 */
import type { AttributeValue } from "aws-lambda";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { expect } from "vitest";
import { createCoordinatorHandler } from "../../functions/coordinator.ts";
import { createWorkerHandler } from "../../functions/worker.ts";
import { task, type Execution } from "floe";
import { encodeMessage } from "../../sdk/aws/sqs-task-queue.ts";
import { sqsRecord } from "../support/sqs-event.ts";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryExecutionStore } from "../../sdk/embedded/memory-execution-store.ts";
import { MemoryLimitStore } from "../../sdk/embedded/memory-limit-store.ts";
import { limitKey } from "../../sdk/engine/limits.ts";
import { State, isTerminal, type ExecutionRecord, type TaskMessage } from "../../sdk/engine/model.ts";
import type { ExecutionStore, IdSource, LimitStore, TaskQueue } from "../../sdk/engine/ports.ts";
import { isPromiseLike } from "../../sdk/engine/step.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { marshall } from "@aws-sdk/util-dynamodb";
import { FaultyStore, type LimitFaultMethod } from "../faults/faulty-store.ts";
import { InjectedSendFault, ManualClock } from "../support/sim-sqs.ts";

async function sum(i: number, upstreams: Execution<number>[]): Promise<number> {
  let total = i;
  for (const upstream of upstreams) total += await upstream.result();
  return total;
}

const node = task("m_node", { wait: true }, sum);

/** The limits a limited scenario draws from. */
export type ModelLimit = 1 | 2;

/** How many keys a limited scenario's executions are spread over. */
const KEYS = 2;
const keyOf = (i: number): string => `k${i % KEYS}`;

/**
 * Looks at the executions while a limited node's code runs, when a scenario sets it: a
 * step ends with no attempt under way but a crashed one, so only a look from inside the
 * code sees the attempts that run at once.
 */
let whileRunning: (() => Promise<void>) | undefined;

async function limitedSum(i: number, upstreams: Execution<number>[]): Promise<number> {
  await whileRunning?.();
  return sum(i, upstreams);
}

/** A rate limit's period in the limited scenarios: one second, windows from the epoch. */
const RATE_PERIOD_MS = 1_000;

/**
 * The node task under a concurrency limit (`c`) and a rate limit (`r` starts a second), of
 * 1 or 2 per key, or none (0): each combination defined once, at load, as a deployment does.
 */
const limitedNodes = new Map<string, typeof node>();
for (const c of [0, 1, 2] as const) {
  for (const r of [0, 1, 2] as const) {
    if (c === 0 && r === 0) continue;
    const key = (i: unknown) => keyOf(i as number);
    const options = {
      wait: true,
      ...(c === 0 ? {} : { concurrency: { limit: c, key } }),
      ...(r === 0 ? {} : { rateLimit: { limit: r, periodMs: RATE_PERIOD_MS, key } }),
    } as const;
    limitedNodes.set(`${c}/${r}`, task(`m_node${c === 0 ? "" : `_limit${c}`}${r === 0 ? "" : `_rate${r}`}`, options, limitedSum));
  }
}

/** A DAG: node i depends on a subset of the nodes before it. */
export const dagArb = fc
  .integer({ min: 1, max: 12 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j)))));

export type Step =
  | { kind: "deliver" | "duplicate"; pick: number; copies?: number }
  /** The table's stream delivers the terminal transitions so far to the coordinator. */
  | { kind: "stream" }
  /** Distinct messages delivered at once, with the stream's delivery if `stream`. */
  | { kind: "together"; picks: number[]; stream: boolean }
  | { kind: "fault"; method: "update" | "release" | "create" | "send" | LimitFaultMethod; mode: "before" | "after"; pick: number };

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat(), copies: fc.integer({ min: 2, max: 3 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("fault" as const),
      method: fc.constantFrom("update" as const, "release" as const, "send" as const),
      mode: fc.constantFrom("before" as const, "after" as const),
      pick: fc.nat(),
    }),
  },
);

/** The steps of a limited scenario: those of {@link stepArb}, and faults of the limit store's writes. */
export const limitedStepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: stepArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stream" as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("together" as const), picks: fc.array(fc.nat(), { minLength: 2, maxLength: 3 }), stream: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("fault" as const),
      method: fc.constantFrom("acquire" as const, "vacate" as const, "hold" as const, "unhold" as const),
      mode: fc.constantFrom("before" as const, "after" as const),
      pick: fc.nat(),
    }),
  },
);

/** The visibility timeout, and so the take-over threshold. */
const VISIBILITY_MS = 30_000;

/** A message in the queue; one whose delivery failed is visible again a visibility timeout later. */
interface Held {
  readonly message: TaskMessage;
  visibleAt: number;
}

/**
 * A queue that keeps what was sent, for the test to deliver in the order the schedule says.
 * A send answers later, as a request does, and fails on command: before the message is
 * queued, or after (the response lost).
 */
class Pool implements TaskQueue {
  readonly messages: Held[] = [];
  readonly faults: { executionId: string; mode: "before" | "after" }[] = [];

  constructor(private readonly clock: ManualClock) {}

  async send(messages: readonly TaskMessage[], delayMs = 0): Promise<void> {
    await Promise.resolve();
    let failed = false;
    for (const message of messages) {
      const fault = this.faults.findIndex((f) => f.executionId === message.executionId);
      const mode = fault < 0 ? undefined : this.faults.splice(fault, 1)[0]?.mode;
      failed ||= mode !== undefined;
      // A delayed message is received no earlier than its delay, as SQS's DelaySeconds says.
      if (mode !== "before") this.messages.push({ message, visibleAt: this.clock.now() + delayMs });
    }
    if (failed) throw new InjectedSendFault("SendMessage failed");
  }
}

/** Safety, checked after every step. */
function checkSafety(records: readonly ExecutionRecord[], upstreamsOf: Map<string, string[]>, byId: Map<string, ExecutionRecord>): void {
  for (const record of records) {
    expect(record.pending).toBeGreaterThanOrEqual(0);
    expect(record.history.filter((h) => h.state === State.Completed).length).toBeLessThanOrEqual(1);
    // Claimed once per attempt (T1): duplicates within the visibility timeout never start it again.
    const claims = record.history.filter((h) => h.state === State.Running).map((h) => h.attempt);
    expect(new Set(claims).size).toBe(claims.length);
    // Nothing starts before the upstreams it waits for have finished.
    if (record.history.some((h) => h.state === State.Running)) {
      for (const upstream of upstreamsOf.get(record.id) ?? []) {
        const u = byId.get(upstream);
        expect(u !== undefined && isTerminal(u.state)).toBe(true);
      }
    }
  }
}

/**
 * Safety of a concurrency limit, checked after every step: per key, no more executions
 * `running` than the limit. On the in-memory counters also: no more holders than the
 * limit, and every running execution one of them (an attempt that runs without its slot
 * lets another take it).
 */
function checkLimit(records: readonly ExecutionRecord[], limit: ModelLimit, counters: LimitStore | undefined): void {
  const running = new Map<string, ExecutionRecord[]>();
  for (const record of records) {
    const key = record.limits?.concurrency?.key;
    expect(key, `the limit key of ${record.id}`).toBeDefined();
    if (key !== undefined && record.state === State.Running) running.set(key, [...(running.get(key) ?? []), record]);
  }
  for (const [key, held] of running) expect(held.length, `executions running under key ${key}`).toBeLessThanOrEqual(limit);
  if (!(counters instanceof MemoryLimitStore)) return;
  for (const record of records) {
    const key = limitKey("concurrency", record.taskName, record.limits?.concurrency?.key ?? "");
    expect(counters.holders(key), `holders of ${key}`).toBeLessThanOrEqual(limit);
    if (record.state === State.Running) expect(counters.slots(key, [record.id]).holding.length === 1, `${record.id} runs holding its slot`).toBe(true);
  }
}

/** A start a rate limit's counters gave: a count within the limit in `window` of `key`. */
interface Grant {
  readonly key: string;
  readonly window: number;
}

/**
 * Safety of a rate limit, checked after every step: per key, no window counted more starts
 * than the limit, and every start (an attempt's claim, but a take-over's, which goes on
 * with the start of the attempt it takes over) was given by the counters in its window or
 * an earlier one, each given start used once. A start may come after the window it was
 * given (a message is delivered late, or its delivery failed and came back), never before:
 * by Hall's theorem such a matching exists when, for every window, the starts up to its end
 * are no more than the starts given up to its end.
 */
function checkRate(records: readonly ExecutionRecord[], limit: ModelLimit, grants: readonly Grant[]): void {
  const given = new Map<string, Map<number, number>>();
  for (const grant of grants) {
    const windows = given.get(grant.key) ?? new Map<number, number>();
    given.set(grant.key, windows.set(grant.window, (windows.get(grant.window) ?? 0) + 1));
  }
  for (const [key, windows] of given) {
    for (const [window, count] of windows) expect(count, `starts given in window ${window} of ${key}`).toBeLessThanOrEqual(limit);
  }
  const started = new Map<string, number[]>();
  for (const record of records) {
    const rate = record.limits?.rate;
    expect(rate, `the rate limit of ${record.id}`).toBeDefined();
    if (rate === undefined) continue;
    const key = limitKey("rate", record.taskName, rate.key);
    record.history.forEach((h, n) => {
      if (h.state === State.Running && record.history[n - 1]?.state !== State.Running) {
        started.set(key, [...(started.get(key) ?? []), Math.floor(h.at / rate.periodMs)]);
      }
    });
  }
  for (const [key, windows] of started) {
    const givenTo = given.get(key) ?? new Map<number, number>();
    for (const window of new Set(windows)) {
      const starts = windows.filter((w) => w <= window).length;
      const gave = [...givenTo].reduce((n, [w, count]) => (w <= window ? n + count : n), 0);
      expect(starts, `starts of ${key} by the end of window ${window}, against those its counters gave`).toBeLessThanOrEqual(gave);
    }
  }
}

/**
 * What the table's stream carries of a terminal transition of each of `records`, as the
 * coordinator reads it: the state, and the task and limit keys a slot's release needs.
 */
function streamEvent(records: readonly ExecutionRecord[]): Parameters<ReturnType<typeof createCoordinatorHandler>>[0] {
  return {
    Records: records
      .filter((r) => isTerminal(r.state))
      .map((r, n) => ({
        eventName: "MODIFY" as const,
        dynamodb: {
          SequenceNumber: String(n),
          OldImage: { id: { S: r.id }, type: { S: "execution" }, state: { S: "running" } },
          NewImage: {
            id: { S: r.id },
            type: { S: "execution" },
            state: { S: r.state },
            taskName: { S: r.taskName },
            ...(r.limits === undefined ? {} : { limits: { M: marshall(r.limits) as Record<string, AttributeValue> } }),
          },
        },
      })),
  };
}

/**
 * Ids drawn from `seed`, so that a counterexample replays: which of two executions held in
 * the same millisecond is older is their ids' order.
 */
function seededIds(seed: number): IdSource {
  let n = 0;
  return {
    ...cryptoIds,
    fresh: () => {
      n += 1;
      const h = createHash("sha256").update(`${seed}:${n}`).digest("hex");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
  };
}

/** From 0 to 3 turns of the microtask queue a call, drawn from `seed` (mulberry32). */
function turns(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % 4;
  };
}

/** What varies a scenario beyond its DAG and steps. */
export interface ScenarioOptions {
  /** The concurrency limit per key of the DAG's task; none when undefined. */
  readonly limit?: ModelLimit | undefined;
  /** The rate limit per key of the DAG's task, in starts a second; none when undefined. */
  readonly rate?: ModelLimit | undefined;
  /** Where the executions' ids come from: random when undefined. */
  readonly seed?: number | undefined;
  /** Whether the seed also varies how handlers running at once interleave (replayably). */
  readonly jitter?: boolean | undefined;
}

/** Runs one drawn scenario over the store `makeStore` gives. */
export async function runScenario(
  dag: readonly (readonly number[])[],
  steps: readonly Step[],
  makeStore: () => ExecutionStore | Promise<ExecutionStore> = () => new MemoryExecutionStore(),
  { limit, rate, seed, jitter }: ScenarioOptions = {},
): Promise<void> {
  const memory = await makeStore();
  const grants: Grant[] = [];
  if (rate !== undefined) recordGrants(memory.limits as LimitStore, rate, grants);
  const store = new FaultyStore(memory);
  const clock = new ManualClock();
  const pool = new Pool(clock);
  const ids = seed === undefined ? cryptoIds : seededIds(seed);
  const runtime = new Runtime({ store, queue: pool, blobs: new MemoryBlobStore(), clock, ids, takeOverAfterMs: VISIBILITY_MS });
  const worker = createWorkerHandler({ runtime, log: () => undefined });
  const coordinator = createCoordinatorHandler({ engine: runtime.engine, log: () => undefined });
  // Submitted before any fault, as an API call would be.
  const executions: Execution<number>[] = [];
  const definition = limit === undefined && rate === undefined ? node : (limitedNodes.get(`${limit ?? 0}/${rate ?? 0}`) as typeof node);
  for (const [i, ups] of dag.entries()) executions.push(runtime.submit(definition, i, ups.map((u) => executions[u]!)));
  await Promise.all(executions.map((e) => e.created));
  // After the submissions, each of which an API call would have finished before the next
  // one names it.
  if (seed !== undefined && jitter === true) store.jitter = turns(seed);
  const upstreamsOf = new Map(executions.map((e, i) => [e.id, (dag[i] ?? []).map((u) => executions[u]!.id)]));
  const records = async () => (await memory.getMany(executions.map((e) => e.id))).filter((r): r is ExecutionRecord => r !== undefined);
  const check = async () => {
    const all = await records();
    checkSafety(all, upstreamsOf, new Map(all.map((r) => [r.id, r])));
    if (limit !== undefined) checkLimit(all, limit, memory.limits);
    if (rate !== undefined) checkRate(all, rate, grants);
    expect(seenRunning, "what the code saw while it ran").toEqual([]);
    return all;
  };
  // Kept, not thrown: thrown in the code, it would only fail the attempt.
  const seenRunning: string[] = [];
  whileRunning =
    limit === undefined
      ? undefined
      : async () => {
          try {
            checkLimit(await records(), limit, memory.limits);
          } catch (error) {
            seenRunning.push((error as Error).message);
          }
        };
  let delivery = 0;
  /** Delivers `copies` of a message at once; a failed copy comes back after the visibility timeout. */
  const deliver = async (held: Held, copies = 1) => {
    // It is received once visible: a failed delivery's message only after its visibility timeout.
    clock.advanceTo(held.visibleAt);
    return receive(held, copies);
  };
  const receive = async (held: Held, copies: number) => {
    const responses = await Promise.all(
      Array.from({ length: copies }, () => {
        delivery += 1;
        return worker({ Records: [sqsRecord(encodeMessage(held.message), `d${delivery}`)] });
      }),
    );
    if (responses.some((r) => r.batchItemFailures.length > 0)) {
      pool.messages.push({ message: held.message, visibleAt: clock.now() + VISIBILITY_MS });
    }
  };

  for (const step of steps) {
    if (step.kind === "fault") {
      const target = executions[step.pick % executions.length]!;
      if (step.method === "send") pool.faults.push({ executionId: target.id, mode: step.mode });
      else store.inject({ method: step.method, id: target.id, mode: step.mode, times: 1 });
      continue;
    }
    if (step.kind === "stream") {
      // The stream replays every terminal transition so far (at least once): its failures
      // are delivered again by a later step or the end.
      await coordinator(streamEvent(await records()));
      await check();
      continue;
    }
    if (step.kind === "together") {
      // Distinct messages received by handlers running at once (and the stream's, if drawn),
      // their store calls interleaved: a release racing an admission under one limit.
      const taken = step.picks.flatMap((pick) => (pool.messages.length === 0 ? [] : pool.messages.splice(pick % pool.messages.length, 1)));
      clock.advanceTo(Math.max(clock.now(), ...taken.map((h) => h.visibleAt)));
      const streamed = step.stream ? records().then((all) => coordinator(streamEvent(all))) : undefined;
      await Promise.all([...taken.map((h) => receive(h, 1)), streamed]);
      await check();
      continue;
    }
    if (pool.messages.length === 0) continue;
    const [held] = pool.messages.splice(step.pick % pool.messages.length, 1);
    if (held === undefined) continue;
    await deliver(held, step.kind === "duplicate" ? (step.copies ?? 2) : 1);
    await check();
  }

  // The faults stop; the event sources go on until the system is quiet. No message is made
  // up: every one that exists is in the pool (a failed delivery's comes back).
  store.faults.splice(0);
  pool.faults.splice(0);
  for (let round = 0; round < 200; round += 1) {
    while (pool.messages.length > 0) await deliver(pool.messages.shift()!);
    const all = await check();
    if (all.every((r) => isTerminal(r.state))) break;
    // The stream delivers every terminal transition to the coordinator (the backstop).
    await coordinator(streamEvent(all));
    if (pool.messages.length === 0) break;
  }
  const values = dag.reduce<number[]>((acc, ups, i) => [...acc, i + ups.reduce((s, u) => s + (acc[u] ?? 0), 0)], []);
  const final = await records();
  expect(final.map((r) => r.state)).toEqual(final.map(() => State.Completed));
  expect(await Promise.all(executions.map((e) => e.result()))).toEqual(values);
  if (limit !== undefined) await checkSlotsFree(memory, streamEvent(final), coordinator, definition.name, limit, dag.length);
}

/**
 * Notes each start `counters` give within `limit` (the gate's rule: a count within the
 * limit is a start in that window; see `LimitGate.reserve`), as DynamoDB's or the memory
 * store's own count says.
 */
function recordGrants(counters: LimitStore, limit: ModelLimit, grants: Grant[]): void {
  const count = counters.countStart.bind(counters);
  const given = (key: string, window: number, n: number): number => {
    if (n <= limit) grants.push({ key, window });
    return n;
  };
  counters.countStart = (key, window, periodMs, now) => {
    const n = count(key, window, periodMs, now);
    return isPromiseLike(n) ? n.then((m) => given(key, window, m)) : given(key, window, n);
  };
}

/**
 * Once the stream has delivered every terminal transition, no slot is left taken: each key
 * admits `limit` new executions (probed on the real counters, as the scenario is over).
 */
async function checkSlotsFree(
  store: ExecutionStore,
  stream: Parameters<ReturnType<typeof createCoordinatorHandler>>[0],
  coordinator: ReturnType<typeof createCoordinatorHandler>,
  taskName: string,
  limit: ModelLimit,
  nodes: number,
): Promise<void> {
  expect((await coordinator(stream)).batchItemFailures).toEqual([]);
  const counters = store.limits as LimitStore;
  for (let k = 0; k < Math.min(KEYS, nodes); k += 1) {
    const key = limitKey("concurrency", taskName, keyOf(k));
    for (let probe = 0; probe < limit; probe += 1) {
      expect((await counters.acquire(key, `probe-${probe}`, limit)).admitted, `a slot of ${key} left taken`).toBe(true);
    }
  }
}
