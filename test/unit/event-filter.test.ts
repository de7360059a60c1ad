/**
 * The filter criteria of event source mappings, as the bundled cloud applies them: the
 * coordinator's own patterns (a transition into a terminal state) and the rules the
 * patterns may use.
 */
import { describe, expect, it } from "vitest";
import { compileFilter } from "../../sdk/local-cloud/event-filter.ts";
import { thrown } from "../support/thrown.ts";

// The coordinator's mapping, as the example stack's template has it.
const terminal = ["completed", "failed", "cancelled"];
const coordinator = compileFilter({
  Filters: [
    { Pattern: JSON.stringify({ eventName: ["INSERT"], dynamodb: { NewImage: { type: { S: ["execution"] }, state: { S: terminal } } } }) },
    {
      Pattern: JSON.stringify({
        eventName: ["MODIFY"],
        dynamodb: { NewImage: { type: { S: ["execution"] }, state: { S: terminal } }, OldImage: { state: { S: [{ "anything-but": terminal }] } } },
      }),
    },
  ],
});

const record = (eventName: string, type: string, state: string, before?: string) => ({
  eventName,
  dynamodb: { NewImage: { type: { S: type }, state: { S: state } }, ...(before === undefined ? {} : { OldImage: { state: { S: before } } }) },
});

describe("event filters", () => {
  it("pass an execution's transition into a terminal state, inserted or modified", () => {
    expect(coordinator(record("INSERT", "execution", "failed"))).toBe(true);
    expect(coordinator(record("MODIFY", "execution", "completed", "running"))).toBe(true);
  });

  it("drop other transitions, other items and repeated terminal writes", () => {
    expect(coordinator(record("MODIFY", "execution", "running", "queued"))).toBe(false);
    expect(coordinator(record("MODIFY", "edge", "completed", "running"))).toBe(false);
    expect(coordinator(record("MODIFY", "execution", "completed", "completed"))).toBe(false);
    expect(coordinator(record("REMOVE", "execution", "completed", "running"))).toBe(false);
    // anything-but needs the field present: a MODIFY without an old image does not pass.
    expect(coordinator(record("MODIFY", "execution", "completed"))).toBe(false);
  });

  it("match prefixes, existence and numbers", () => {
    const filter = compileFilter({ Filters: [{ Pattern: JSON.stringify({ a: [{ prefix: "x-" }], b: [{ exists: false }], c: [{ numeric: [">", 1, "<=", 5] }] }) }] });
    expect(filter({ a: "x-1", c: 5 })).toBe(true);
    expect(filter({ a: "x-1", b: 1, c: 5 })).toBe(false);
    expect(filter({ a: "y-1", c: 5 })).toBe(false);
    expect(filter({ a: "x-1", c: 6 })).toBe(false);
  });

  it("pass everything without criteria", () => {
    expect(compileFilter(undefined)({ anything: 1 })).toBe(true);
  });

  it("refuse a rule they do not implement, naming it, rather than ignore it", () => {
    const error = thrown(() => compileFilter({ Filters: [{ Pattern: JSON.stringify({ a: [{ wildcard: "x*" }] }) }] }));
    expect(error.code).toBe("FLOE_INVALID_OPTION");
    expect(error.message).toContain("wildcard");
  });
});
