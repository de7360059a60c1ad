/**
 * A stream mapping's bisection on error, as the bundled cloud drives it: a batch whose
 * invocation throws is split in halves, each invoked alone, down to the failing record.
 */
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { invokeBisecting } from "../../sdk/local-cloud/bundled-cloud.ts";

const records = (n: number): DynamoDBRecord[] => Array.from({ length: n }, (_, i) => ({ dynamodb: { SequenceNumber: String(i) } }));
const keep = () => undefined;
const sequences = (event: unknown) => (event as { Records: DynamoDBRecord[] }).Records.map((r) => r.dynamodb?.SequenceNumber);

describe("bisection on error", () => {
  it("splits a batch that throws until the record that fails it is alone, gives that one up and invokes the others", async () => {
    const batches: (string | undefined)[][] = [];
    const fn = {
      invoke: async (event: unknown) => {
        const batch = sequences(event);
        batches.push(batch);
        if (batch.includes("5")) throw new Error("poisoned");
        return { batchItemFailures: [] };
      },
    };
    const discarded: (string | undefined)[] = [];
    expect(await invokeBisecting(fn, records(8), true, true, (r) => discarded.push(r.dynamodb?.SequenceNumber))).toEqual({ batchItemFailures: [] });
    expect(discarded).toEqual(["5"]);
    expect(batches).toEqual([
      ["0", "1", "2", "3", "4", "5", "6", "7"],
      ["0", "1", "2", "3"],
      ["4", "5", "6", "7"],
      ["4", "5"],
      ["4"],
      ["5"],
      ["6", "7"],
    ]);
  });

  it("does not split without BisectBatchOnFunctionError, and passes partial failures on only when reported", async () => {
    let calls = 0;
    const throwing = { invoke: async () => ((calls += 1), Promise.reject(new Error("down"))) };
    await expect(invokeBisecting(throwing, records(4), false, true, keep)).rejects.toThrow("down");
    expect(calls).toBe(1);
    const partial = { invoke: async () => ({ batchItemFailures: [{ itemIdentifier: "2" }] }) };
    expect(await invokeBisecting(partial, records(4), true, true, keep)).toEqual({ batchItemFailures: [{ itemIdentifier: "2" }] });
    expect(await invokeBisecting(partial, records(4), true, false, keep)).toEqual({ batchItemFailures: [] });
  });
});
