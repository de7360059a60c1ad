/** `floe inspect`'s line for an execution with a start to come: a delayed start, a retry, a sleep. */
import { describe, expect, it } from "vitest";
import { dueText, runsTable } from "../../sdk/cli/render.ts";

const at = Date.UTC(2027, 0, 4, 9);
const failure = { attempt: 1, finishedAt: at - 1, error: { name: "Error", message: "boom" } };

describe("the due line of floe inspect", () => {
  it("names a delayed start, a retry and a sleep, and nothing without a time to come", () => {
    expect(dueText({ notBefore: at, attempt: 1 })).toBe("starts at 2027-01-04T09:00:00.000Z");
    expect(dueText({ notBefore: at, attempt: 2, startedAt: at - 5, failures: [failure] })).toBe("retries at 2027-01-04T09:00:00.000Z");
    expect(dueText({ notBefore: at, attempt: 1, startedAt: at - 5 })).toBe("sleeping until 2027-01-04T09:00:00.000Z");
    expect(dueText({ attempt: 1, startedAt: at - 5 })).toBeUndefined();
    expect(dueText({ wakeAt: at, attempt: 1, startedAt: at - 5 })).toBe("sleeping until 2027-01-04T09:00:00.000Z");
  });

  it("says until when a sleeping run wakes in floe runs", () => {
    const run = { id: "r1", runId: "r1", task: "nap", attempt: 1, createdAt: at - 60_000 };
    const table = runsTable([{ ...run, state: "sleeping", wakeAt: at }, { ...run, id: "r2", runId: "r2", state: "queued" }], at - 1_000);
    expect(table).toMatch(/^r1\s+nap\s+sleeping until 2027-01-04 09:00:00Z\s/m);
    expect(table).toMatch(/^r2\s+nap\s+queued\s/m);
  });
});
