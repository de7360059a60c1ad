/**
 * The flaky-payment example (its own file: its `checkout` workflow shares a name with
 * run-events'): each attempt of charge_card keeps the lines it logged.
 */
import { describe, expect, it } from "vitest";
import { createEngine } from "floe";
import { checkout } from "../../examples/flaky-payment.ts";

describe("examples", () => {
  it("flaky-payment: each attempt of charge_card keeps its own lines", async () => {
    await using engine = createEngine({ printLogs: false });
    const run = engine.submit(checkout, "order-42", 4999);
    expect(await run.result()).toMatchObject({ paid: true, receipt: { attempt: 3 } });
    const charge = (await engine.getRun(run))!.executions.find((e) => e.task === "charge_card")!;
    const logs = await engine.getLogs(charge.id);
    expect(logs?.lines.map((l) => [l.attempt, l.level, l.message])).toEqual([
      [1, "info", "charging"], [1, "warn", "the payment gateway timed out"],
      [2, "info", "charging"], [2, "warn", "the payment gateway timed out"],
      [3, "info", "charging"], [3, "info", "charged"],
    ]);
    expect((await engine.getLogs(charge.id, { attempt: 3 }))?.lines.at(-1)).toMatchObject({ message: "charged", fields: { orderId: "order-42" } });
    expect(await engine.getLogs("no-such-execution")).toBeUndefined();
  });
});
