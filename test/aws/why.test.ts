/**
 * On the DynamoDB store (DynamoDB Local, no SDK call mocked) a run view says why a
 * downstream is not running as on the embedded engine: its links never mark an edge
 * released, the unfinished upstream's state names it.
 */
import { describe, expect, it } from "vitest";
import { State, WaitMode } from "../../sdk/engine/model.ts";
import { runView } from "../../sdk/http/describe.ts";
import { cryptoIds } from "../../sdk/runtime/system.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { setupWith } from "../engine-scenarios.ts";

const stores = useDynamoDbLocal();

describe("why on DynamoDB", () => {
  it("names the unfinished upstream a downstream waits on, as the embedded engine does", async () => {
    const { engine, store } = await setupWith(() => stores(), [], 8);
    const root = "root-why";
    await store.create({
      id: root, runId: root, taskName: "order", args: { inline: "J[]" }, state: State.Running, attempt: 1, generation: 1,
      pending: 0, guarded: false, waitMode: WaitMode.All, createdAt: 1_000, history: [],
    });
    const up = cryptoIds.child!(root, "charge_card");
    const down = cryptoIds.child!(root, "ship");
    await engine.register({ id: up, runId: root, parentId: root, taskName: "charge_card", args: "J[]", refs: [], waitOn: [] });
    await engine.register({ id: down, runId: root, parentId: root, taskName: "ship", args: "J[]", refs: [up], waitOn: [up] });
    const { executions, edges } = (await store.run(root))!;
    // Every payload here is inline.
    const view = await runView({ id: root, root: executions.find((e) => e.id === root)!, executions, edges }, (p) => ("inline" in p ? p.inline : ""));
    const waiting = view.executions.find((e) => e.id === down);
    expect(waiting?.why).toEqual({
      reason: "waiting-upstreams",
      text: "waiting on its upstream: charge_card (queued)",
      upstreams: [{ id: up, task: "charge_card", state: "queued" }],
    });
  });
});
