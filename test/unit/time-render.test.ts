/** `floe inspect`'s line for an execution with a start to come: a delayed start, a retry, a sleep. */
import { describe, expect, it } from "vitest";
import { dueText } from "../../sdk/cli/render.ts";

const at = Date.UTC(2027, 0, 4, 9);
const failure = { attempt: 1, finishedAt: at - 1, error: { name: "Error", message: "boom" } };

describe("the due line of floe inspect", () => {
  it("names a delayed start, a retry and a sleep, and nothing without a time to come", () => {
    expect(dueText({ notBefore: at, attempt: 1 })).toBe("starts at 2027-01-04T09:00:00.000Z");
    expect(dueText({ notBefore: at, attempt: 2, startedAt: at - 5, failures: [failure] })).toBe("retries at 2027-01-04T09:00:00.000Z");
    expect(dueText({ notBefore: at, attempt: 1, startedAt: at - 5 })).toBe("sleeping until 2027-01-04T09:00:00.000Z");
    expect(dueText({ attempt: 1, startedAt: at - 5 })).toBeUndefined();
  });
});
