/**
 * Traces on the local cloud: each function has a runtime of its own, as each Lambda is its
 * own process, so a workflow → task chain's spans are linked only through the
 * `traceparent` each record carries from its submission (DynamoDB Local, the SQS server).
 */
import { describe, expect, it } from "vitest";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { task, workflow } from "floe";
import { startLocalCloud } from "floe/local-cloud";
import { emulatorsForFile } from "../support/file-emulators.ts";
import { useInMemoryTracing } from "../support/tracing.ts";

const emulators = emulatorsForFile();
const exporter = useInMemoryTracing();

const double = task("tlc_double", async (n: number) => n * 2);
const addOne = task("tlc_add_one", async (n: number) => (await double(n)) + 1);
const pipeline = workflow("tlc_pipeline", async (n: number) => addOne(n));

describe("traces on the local cloud", () => {
  it("links the spans of a workflow → task → task chain run by three functions into one trace", async () => {
    const cloud = await startLocalCloud({ endpoints: emulators.endpoints, prefix: "tlc", tracing: true });
    try {
      expect(await cloud.submit(pipeline, 4).result()).toBe(9);
    } finally {
      await cloud.close();
    }
    const one = (name: string) => {
      const found = exporter.getFinishedSpans().filter((s) => s.name === name);
      // A workflow awaiting its child suspends and runs again: every run of it has one parent.
      expect(found.length, name).toBeGreaterThan(0);
      return found;
    };
    const [workflows, adds, doubles] = [one("floe.task tlc_pipeline"), one("floe.task tlc_add_one"), one("floe.task tlc_double")];
    const [root] = one("floe.submit tlc_pipeline") as [ReadableSpan];
    const parents = (spans: ReadableSpan[]) => new Set(spans.map((s) => s.parentSpanContext?.spanId));
    const ids = (spans: ReadableSpan[]) => spans.map((s) => s.spanContext().spanId);
    expect(parents(workflows)).toEqual(new Set([root.spanContext().spanId]));
    for (const parent of parents(adds)) expect(ids(workflows)).toContain(parent);
    for (const parent of parents(doubles)) expect(ids(adds)).toContain(parent);
    expect(new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId))).toEqual(new Set([root.spanContext().traceId]));
  }, 60_000);
});
