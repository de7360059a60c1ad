/**
 * `GET /runs/{id}?since=` over the DynamoDB store (DynamoDB Local, no SDK call mocked): the
 * test drives a fan-out into a join message by message on its own clock, and after every
 * step a poll, folded into the view held, equals a full read; a poll holds the execution
 * that changed and the join whose `why` it changed, not the others.
 */
import { describe, expect, it } from "vitest";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { ExecutionEngine } from "../../sdk/engine/execution-engine.ts";
import { State, WaitMode, edgeKey } from "../../sdk/engine/model.ts";
import { handleRequest } from "../../sdk/http/routes.ts";
import { mergeRun } from "../../sdk/http/merge-run.ts";
import { SINCE_OVERLAP_MS } from "../../sdk/http/run-changes.ts";
import type { RunJson } from "../../sdk/http/views.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { RecordingQueue } from "../engine-scenarios.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { ManualClock } from "../support/manual-clock.ts";

const stores = useDynamoDbLocal();

function normal(run: RunJson) {
  return {
    id: run.id,
    executions: [...run.executions].sort((a, b) => a.id.localeCompare(b.id)),
    edges: [...run.edges].sort((a, b) => edgeKey(a).localeCompare(edgeKey(b))),
  };
}

describe("GET /runs/{id}?since= on DynamoDB", () => {
  it("gives, merged poll after poll, what a full read gives at every step of a fan-out into a join", async () => {
    const store = await stores();
    const clock = new ManualClock(2_000_000_000_000);
    const blobs = new MemoryBlobStore();
    const queue = new RecordingQueue();
    const engine = new ExecutionEngine({
      store, queue, blobs, clock, blobThreshold: 4_096,
      policy: { retryDelayMs: () => undefined, encodeError: (e) => String(e) },
    });
    const api = new Runtime({ store, queue: { send: () => undefined }, blobs, clock, ids: cryptoIds });
    const get = async (id: string, since?: string): Promise<RunJson> => {
      const response = await handleRequest(api, { method: "GET", path: `/runs/${id}`, query: since === undefined ? {} : { since }, headers: {}, body: undefined, caller: "local" });
      expect(response.status).toBe(200);
      return response.body as RunJson;
    };

    const root = "root-since";
    await store.create({
      id: root, runId: root, taskName: "fan", args: { inline: "J[]" }, state: State.Running, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: clock.now(), startedAt: clock.now(), history: [{ state: State.Running, at: clock.now(), attempt: 1 }],
    });
    const n = 12;
    const items = Array.from({ length: n }, (_, i) => cryptoIds.child!(root, `item${i}`));
    for (const id of items) await engine.register({ id, runId: root, parentId: root, taskName: "item", args: "J[]", refs: [], waitOn: [] });
    const join = cryptoIds.child!(root, "join");
    await engine.register({ id: join, runId: root, parentId: root, taskName: "join", args: "J[]", refs: items, waitOn: items });

    clock.advance(SINCE_OVERLAP_MS + 1);
    let view = await get(root);
    expect(view.executions).toHaveLength(n + 2);
    const messageOf = (id: string) => queue.sent.find((s) => s.message.executionId === id)!.message;
    for (const [step, id] of [...items].reverse().entries()) {
      const claimed = (await engine.claim(messageOf(id)))!;
      clock.advance(100);
      await engine.finish(claimed, { type: "completed", result: `J${step}` });
      await engine.releaseDependents(id);
      // Every other poll comes within the overlap of the change before it.
      clock.advance(step % 2 === 0 ? SINCE_OVERLAP_MS + 1 : 300);
      const poll = await get(root, view.cursor);
      expect(poll.partial).toBe(true);
      // Once the change before is older than the overlap: the item, the join, the root.
      if (step === 0 || step % 2 === 1) {
        const ids = poll.executions.map((e) => e.id);
        expect(ids.sort()).toEqual([id, join, root].sort());
        const why = poll.executions.find((e) => e.id === join)?.why;
        if (step < n - 1) expect(why?.upstreams?.map((u) => u.id)).not.toContain(id);
      }
      view = mergeRun(view, poll);
      expect(normal(view), `step ${step}`).toEqual(normal(await get(root)));
    }
    const joined = (await engine.claim(messageOf(join)))!;
    await engine.finish(joined, { type: "completed", result: "J99" });
    clock.advance(SINCE_OVERLAP_MS + 1);
    const poll = await get(root, view.cursor);
    // The last item finished within the overlap of the poll before: sent again, once.
    expect(poll.executions.map((e) => e.id).sort()).toEqual([items[0]!, join, root].sort());
    view = mergeRun(view, poll);
    const full = await get(root);
    expect(normal(view)).toEqual(normal(full));
    expect(full.executions.find((e) => e.id === join)).toMatchObject({ state: "completed", result: 99 });
  }, 60_000);
});
