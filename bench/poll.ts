/**
 * What one live poll of a running run costs, at 10 and at 10,000 executions: the bytes of
 * `GET /runs/{id}` (the whole run) beside `GET /runs/{id}?since=<cursor>` (what changed
 * since the poll before), as the HTTP API's routes answer them, on the embedded engine and
 * on the DynamoDB store (DynamoDB Local), with the read capacity each poll consumes there
 * (`ReturnConsumedCapacity`). Between two polls the same few executions finish at both
 * sizes, and the clock (the test's own) moves on by the dashboard's 500 ms; the run was made
 * long enough before that its creation is past the cursor's overlap.
 *
 * Two shapes: independent items (nothing waits on them), and the same items joined by one
 * `wait: true` task, whose `why` names every unfinished upstream and so changes at every
 * poll. Each since poll is checked: merged into the view before, it equals a full read.
 * Run with `npm run bench:poll` (needs Java 17 for DynamoDB Local).
 */
import { gzipSync } from "node:zlib";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isDeepStrictEqual } from "node:util";
import { task, workflow, type Execution } from "floe";
import { executionTableDefinition } from "../sdk/aws/contract.ts";
import { DynamoDbExecutionStore } from "../sdk/aws/dynamodb-execution-store.ts";
import { countRequests, newRequestCounts } from "../sdk/aws/request-counter.ts";
import { EmbeddedEngine } from "../sdk/embedded/embedded-engine.ts";
import { MemoryBlobStore } from "../sdk/embedded/memory-blob-store.ts";
import { State, WaitMode, edgeKey } from "../sdk/engine/model.ts";
import type { Clock } from "../sdk/engine/ports.ts";
import { handleRequest } from "../sdk/http/routes.ts";
import { mergeRun } from "../sdk/http/merge-run.ts";
import { SINCE_OVERLAP_MS } from "../sdk/http/run-changes.ts";
import type { RunJson } from "../sdk/http/views.ts";
import { startDynamoDbLocal } from "../sdk/local-cloud/dynamodb-local.ts";
import { Runtime } from "../sdk/runtime/runtime.ts";
import { cryptoIds } from "../sdk/runtime/system.ts";

const SIZES = [10, 10_000];
/** Executions that finish between two polls, at every size. */
const CHANGES = 2;
const POLL_MS = 500;

/** A clock the bench moves; timers never fire (nothing here waits on one). */
class BenchClock implements Clock {
  at = 2_000_000_000_000;
  now(): number {
    return this.at;
  }
  schedule(): () => void {
    return () => undefined;
  }
}

const gates = new Map<number, () => void>();
const item = task("poll_item", async (i: number) => {
  await new Promise<void>((resolve) => gates.set(i, resolve));
  return i;
});
const join = task("poll_join", { wait: true }, async (parts: Execution<number>[]) => parts.length);
const independent = workflow("poll_independent", async (n: number) => {
  for (let i = 0; i < n; i += 1) item.submit(i);
  return n;
});
const joined = workflow("poll_joined", async (n: number) => join.submit(Array.from({ length: n }, (_, i) => item.submit(i))));

interface Row {
  backend: string;
  shape: string;
  executions: number;
  fullBytes: number;
  /** The full read as the API function sends it to a client that accepts gzip (base64 counts 4/3 of it against Lambda's 6 MB). */
  fullGzipBytes: number;
  sinceBytes: number;
  sinceExecutions: number;
  fullReadUnits?: number;
  sinceReadUnits?: number;
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

type Get = (id: string, since?: string) => Promise<{ body: RunJson; bytes: number; gzipBytes: number }>;

function getter(runtime: Runtime): Get {
  return async (id, since) => {
    const response = await handleRequest(runtime, { method: "GET", path: `/runs/${id}`, query: since === undefined ? {} : { since }, headers: {}, body: undefined, caller: "local" });
    if (response.status !== 200) throw new Error(`GET /runs/${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
    const text = JSON.stringify(response.body);
    return { body: response.body as RunJson, bytes: Buffer.byteLength(text), gzipBytes: gzipSync(text).length };
  };
}

function sameRun(a: RunJson, b: RunJson): boolean {
  const normal = (r: RunJson) => ({
    executions: [...r.executions].sort((x, y) => x.id.localeCompare(y.id)),
    edges: [...r.edges].sort((x, y) => edgeKey(x).localeCompare(edgeKey(y))),
  });
  return isDeepStrictEqual(normal(a), normal(b));
}

async function embeddedRow(shape: "independent" | "joined", n: number): Promise<Row> {
  gates.clear();
  const clock = new BenchClock();
  const engine = new EmbeddedEngine({ clock, concurrency: 100_000 });
  try {
    const run = engine.submit(shape === "joined" ? joined : independent, n);
    while (gates.size < n) await turns(50);
    clock.at += SINCE_OVERLAP_MS + 1_000;
    const get = getter(engine);
    const before = await get(run.id);
    for (let i = 0; i < CHANGES; i += 1) gates.get(i)?.();
    await turns(50);
    clock.at += POLL_MS;
    const since = await get(run.id, before.body.cursor);
    const full = await get(run.id);
    if (!sameRun(mergeRun(before.body, since.body), full.body)) throw new Error(`${shape} ${n}: the merged poll differs from a full read`);
    return { backend: "embedded", shape, executions: full.body.executions.length, fullBytes: full.bytes, fullGzipBytes: full.gzipBytes, sinceBytes: since.bytes, sinceExecutions: since.body.executions.length };
  } finally {
    for (const open of gates.values()) open();
    await engine.close();
  }
}

async function dynamoRows(): Promise<Row[]> {
  const emulator = await startDynamoDbLocal();
  const rows: Row[] = [];
  try {
    for (const [t, n] of SIZES.entries()) {
      const base = new DynamoDBClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
      const tableName = `poll-${t}`;
      await base.send(new CreateTableCommand(executionTableDefinition(tableName)));
      const counts = newRequestCounts();
      countRequests({ dynamodb: base }, counts);
      const store = new DynamoDbExecutionStore({ client: DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } }), tableName });
      const clock = new BenchClock();
      const runtime = new Runtime({ store, queue: { send: () => undefined }, blobs: new MemoryBlobStore(), clock, ids: cryptoIds });
      const root = `poll-root-${t}`;
      const running = (id: string, parentId?: string) => ({
        id, runId: root, ...(parentId === undefined ? {} : { parentId }), taskName: parentId === undefined ? "poll_independent" : "poll_item",
        args: { inline: `J[${n}]` }, state: State.Running, attempt: 1, generation: 1, pending: 0, guarded: false, waitMode: WaitMode.All,
        createdAt: clock.at, queuedAt: clock.at, startedAt: clock.at + 1,
        history: [{ state: State.Queued, at: clock.at, attempt: 1 }, { state: State.Running, at: clock.at + 1, attempt: 1 }],
      });
      await store.create(running(root));
      const items = Array.from({ length: n }, (_, i) => cryptoIds.child!(root, `item${i}`));
      for (let i = 0; i < items.length; i += 64) await Promise.all(items.slice(i, i + 64).map((id) => store.create(running(id, root))));
      clock.at += SINCE_OVERLAP_MS + 1_000;
      const get = getter(runtime);
      const before = await get(root);
      for (const id of items.slice(0, CHANGES)) {
        await store.update(id, { state: State.Running }, { state: State.Completed, finishedAt: clock.at, result: { inline: "J1" } }, { state: State.Completed, at: clock.at, attempt: 1 });
      }
      clock.at += POLL_MS;
      const units = counts.readUnits;
      const since = await get(root, before.body.cursor);
      const sinceUnits = counts.readUnits - units;
      const full = await get(root);
      const fullUnits = counts.readUnits - units - sinceUnits;
      if (!sameRun(mergeRun(before.body, since.body), full.body)) throw new Error(`DynamoDB ${n}: the merged poll differs from a full read`);
      rows.push({
        backend: "DynamoDB Local", shape: "independent", executions: full.body.executions.length, fullBytes: full.bytes, fullGzipBytes: full.gzipBytes, sinceBytes: since.bytes,
        sinceExecutions: since.body.executions.length, fullReadUnits: fullUnits, sinceReadUnits: sinceUnits,
      });
      base.destroy();
    }
  } finally {
    await emulator.stop();
  }
  return rows;
}

const kb = (bytes: number) => (bytes < 10_000 ? `${bytes} B` : `${(bytes / 1024).toFixed(0)} KB`);

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const shape of ["independent", "joined"] as const) for (const n of SIZES) rows.push(await embeddedRow(shape, n));
  rows.push(...(await dynamoRows()));
  console.log(`One live poll of a running run, ${CHANGES} executions finished since the poll before (${POLL_MS} ms earlier):\n`);
  console.log("| backend | shape | executions | full GET | full GET gzipped | ?since= GET | executions in since | read units full | read units since |");
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    const units = (u?: number) => (u === undefined ? "–" : u.toFixed(1));
    console.log(`| ${r.backend} | ${r.shape} | ${r.executions} | ${kb(r.fullBytes)} | ${kb(r.fullGzipBytes)} | ${kb(r.sinceBytes)} | ${r.sinceExecutions} | ${units(r.fullReadUnits)} | ${units(r.sinceReadUnits)} |`);
  }
  console.log(JSON.stringify({ rows }));
}

await main();
