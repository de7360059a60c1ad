/**
 * The guard scenarios and the inline executions' on DynamoDB Local, and the release's atomicity: a crash right after
 * the first write of a release, injected by wrapping the real document client.
 */
import { describe, expect, it } from "vitest";
import { State } from "../../sdk/engine/model.ts";
import { guardScenarios } from "../guard-scenarios.ts";
import { inlineScenarios } from "../inline-scenarios.ts";
import { runToCompletion, setupWith, spec } from "../engine-scenarios.ts";
import { InjectedCrash, WriteCrash } from "../support/aws-faults.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { withScenarioIds } from "../support/scenario-ids.ts";

const stores = useDynamoDbLocal();
guardScenarios("DynamoDB Local", async () => withScenarioIds(await stores()));
inlineScenarios("DynamoDB Local", async () => withScenarioIds(await stores()));

describe("a release on DynamoDB Local", () => {
  it("counts each edge exactly once when the process crashes after the release's first write and the release is retried (T5)", async () => {
    const crash = new WriteCrash();
    const { engine, queue, store } = await setupWith(async () => withScenarioIds(await stores({ wrap: crash.wrap })));
    await engine.register(spec("u1"));
    await engine.register(spec("u2"));
    await engine.register(spec("d", ["u1", "u2"]));
    // The first write that touches d after its registration is the release of u1's edge.
    crash.arm((key) => key.sk === "X#run~d");
    await expect(runToCompletion(engine, queue, "u1")).rejects.toThrow(InjectedCrash);
    expect(crash.crashed).toBe(1);
    expect((await store.get("u1"))?.state).toBe(State.Completed);
    // The coordinator's backstop, twice (a replayed stream record), then u2 finishes.
    await engine.releaseDependents("u1");
    await engine.releaseDependents("u1");
    expect(await store.get("d")).toMatchObject({ state: State.Waiting, pending: 1 });
    await runToCompletion(engine, queue, "u2");
    expect(await store.get("d")).toMatchObject({ state: State.Queued, pending: 0 });
    expect(queue.ids().filter((id) => id === "d")).toHaveLength(1);
  });
});
