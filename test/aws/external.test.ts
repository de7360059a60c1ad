/**
 * External executions on the DynamoDB store (DynamoDB Local, no SDK call mocked): the
 * deployment's callback key is one item, made once however many first uses race, and no
 * listing shows it; a completion from outside releases the execution that waits for it.
 */
import { describe, expect, it } from "vitest";
import { State, WaitMode } from "../../sdk/engine/model.ts";
import { newCallbackKey } from "../../sdk/runtime/callback-token.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { newRequestCounts } from "../../sdk/aws/request-counter.ts";
import { setupWith } from "../engine-scenarios.ts";

const stores = useDynamoDbLocal();

describe("the callback key on DynamoDB", () => {
  it("is put once under concurrent first uses, read after, and listed nowhere", async () => {
    const counts = newRequestCounts();
    const store = await stores({ counts });
    const candidates = Array.from({ length: 8 }, () => newCallbackKey());
    const keys = await Promise.all(candidates.map((candidate) => store.callbackKey(candidate)));
    expect(new Set(keys).size).toBe(1);
    expect(candidates).toContain(keys[0]);
    expect((await stores.item({ pk: "C#callback-key", sk: "C" }))?.key).toBe(keys[0]);
    // Later uses read it: no put.
    const puts = counts.requests.get("DynamoDB:PutItem");
    expect(await store.callbackKey(newCallbackKey())).toBe(keys[0]);
    expect(counts.requests.get("DynamoDB:PutItem")).toBe(puts);
    expect(await store.runs({})).toEqual([]);
    expect(await store.queued({ dueBefore: Date.now() + 86_400_000, limit: 10 })).toEqual([]);
  });
});

describe("an external execution on DynamoDB", () => {
  it("waits unqueued, and its completion queues the execution waiting for it; a second completion changes nothing", async () => {
    const counts = newRequestCounts();
    const { engine, store, queue, options } = await setupWith(() => stores({ counts }), [], 8);
    const sent = () => queue.sent.map((s) => s.message);
    const now = options.clock.now();
    const root = "root-1";
    await store.create({
      id: root, runId: root, taskName: "expense", args: { inline: "J[]" }, state: State.Running, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: now, history: [],
    });
    const id = cryptoIds.child!(root, "approval");
    const down = cryptoIds.child!(root, "pay");
    const before = new Map(counts.requests);
    const { created } = await engine.createExternal({ id, runId: root, parentId: root, taskName: "approval", args: "J[]", timeoutAt: now + 3_600_000, routeTo: "expense" });
    expect(created).toBe(true);
    // One conditional put.
    expect(delta(before, counts.requests)).toEqual({ "DynamoDB:PutItem": 1 });
    // Its timeout message rides on its parent's queue.
    expect(sent()).toEqual([{ executionId: id, taskName: "expense", attempt: 1 }]);
    await engine.register({ id: down, runId: root, parentId: root, taskName: "pay", args: "J[]", refs: [id], waitOn: [id] });
    expect((await store.get(id))?.state).toBe(State.Waiting);
    expect((await store.get(down))?.state).toBe(State.Waiting);
    queue.sent.length = 0;
    const beforeCompletion = new Map(counts.requests);
    const done = await engine.completeExternal(id, { result: 'J{"approved":true}' });
    expect(done).toMatchObject({ status: "completed", record: { state: State.Completed, result: { inline: 'J{"approved":true}' } } });
    expect((await store.get(down))?.state).toBe(State.Queued);
    expect(sent()).toEqual([{ executionId: down, taskName: "pay", attempt: 1 }]);
    // A read, the completion's conditional write, the read of its links a task's completion
    // makes too, and the release that queues the downstream in the same write.
    expect(delta(beforeCompletion, counts.requests)).toEqual({ "DynamoDB:GetItem": 2, "DynamoDB:UpdateItem": 2 });
    const again = await engine.completeExternal(id, { error: new Error("late") });
    expect(again).toMatchObject({ status: "finished", record: { state: State.Completed } });
    // A re-run of the parent finds it, completed.
    const found = await engine.createExternal({ id, runId: root, parentId: root, taskName: "approval", args: "J[]", timeoutAt: now + 9_999_999, routeTo: "expense" });
    expect(found).toMatchObject({ created: false, record: { state: State.Completed, external: { timeoutAt: done.status === "completed" ? done.record.external?.timeoutAt : 0 } } });
    expect(await engine.completeExternal(root, { result: "J1" })).toMatchObject({ status: "not-external" });
  });
});

function delta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of after) if (n !== (before.get(name) ?? 0)) out[name] = n - (before.get(name) ?? 0);
  return out;
}
