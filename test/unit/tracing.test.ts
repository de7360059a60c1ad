/**
 * Traces on the embedded engine: with `tracing: true` every attempt is a span
 * `floe.task <task>` whose parent is the span that submitted its execution, so a run is one
 * trace; with it off, nothing is traced. The SDK is the test's, as a user's would be.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SpanStatusCode, context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createEngine, task, workflow } from "floe";
import { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { parseTraceparent, traceparentOf } from "../../sdk/runtime/attempt-tracer.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager.enable());
});
afterEach(() => exporter.reset());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

const leaf = task("tr_leaf", async (n: number) => n + 1);
const middle = task("tr_middle", async (n: number) => (await leaf(n)) * 10);
const chain = workflow("tr_chain", async (n: number) => middle(n));

let flaky = 0;
const flakyTask = task("tr_flaky", { retries: { limit: 2, delayMs: 0 } }, async () => {
  flaky += 1;
  if (flaky === 1) throw new Error("first attempt fails");
  return "ok";
});
const retrying = workflow("tr_retrying", async () => flakyTask());

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((s) => s.name === name);
const only = (name: string): ReadableSpan => {
  const found = named(name);
  expect(found, name).toHaveLength(1);
  return found[0] as ReadableSpan;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("traces on the embedded engine", () => {
  it("links workflow → task → task spans parent to child in one trace, under the span that submitted the run", async () => {
    const engine = createEngine({ tracing: true });
    const outer = trace.getTracer("test").startSpan("request");
    const run = context.with(trace.setSpan(context.active(), outer), () => engine.submit(chain, 1));
    expect(await run.result()).toBe(20);
    outer.end();
    await engine.close();

    const [w, m, l] = [only("floe.task tr_chain"), only("floe.task tr_middle"), only("floe.task tr_leaf")];
    expect(new Set(spans().map((s) => s.spanContext().traceId))).toEqual(new Set([outer.spanContext().traceId]));
    expect(parentOf(w)).toBe(outer.spanContext().spanId);
    expect(parentOf(m)).toBe(w.spanContext().spanId);
    expect(parentOf(l)).toBe(m.spanContext().spanId);
    expect(l.attributes).toMatchObject({ "floe.run_id": run.id, "floe.task": "tr_leaf", "floe.attempt": 1, "floe.outcome": "completed" });
    expect(w.attributes["floe.execution_id"]).toBe(run.id);
  });

  it("gives a retried attempt a span of its own, the failure recorded on the first", async () => {
    flaky = 0;
    const engine = createEngine({ tracing: true });
    expect(await engine.submit(retrying).result()).toBe("ok");
    await engine.close();

    const attempts = named("floe.task tr_flaky").sort((a, b) => Number(a.attributes["floe.attempt"]) - Number(b.attributes["floe.attempt"]));
    expect(attempts.map((s) => [s.attributes["floe.attempt"], s.attributes["floe.outcome"]])).toEqual([
      [1, "retried"],
      [2, "completed"],
    ]);
    const [first, second] = attempts as [ReadableSpan, ReadableSpan];
    expect(first.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "first attempt fails" });
    expect(first.events.map((e) => e.name)).toContain("exception");
    expect(second.status.code).not.toBe(SpanStatusCode.ERROR);
    const w = only("floe.task tr_retrying");
    expect(parentOf(first)).toBe(w.spanContext().spanId);
    expect(parentOf(second)).toBe(w.spanContext().spanId);
  });

  it("makes a suspended workflow's re-run a new span in the same trace, under the same parent", async () => {
    const engine = createEngine({ tracing: true, suspendAfterMs: 0 });
    expect(await engine.submit(chain, 2).result()).toBe(30);
    await engine.close();

    const runs = named("floe.task tr_chain");
    expect(runs.map((s) => s.attributes["floe.outcome"]).sort()).toEqual(["completed", "suspended"]);
    expect(new Set(runs.map((s) => s.spanContext().spanId)).size).toBe(2);
    expect(new Set(spans().map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(new Set(runs.map(parentOf))).toEqual(new Set([only("floe.submit tr_chain").spanContext().spanId]));
    // The child was submitted by the first run: its span's parent is that run's span.
    const suspended = runs.find((s) => s.attributes["floe.outcome"] === "suspended");
    expect(named("floe.task tr_middle").map(parentOf)).toContain(suspended?.spanContext().spanId);
  });

  it("traces nothing and keeps no traceparent when tracing is off", async () => {
    const engine = new EmbeddedEngine();
    const outer = trace.getTracer("test").startSpan("request");
    const run = context.with(trace.setSpan(context.active(), outer), () => engine.submit(chain, 1));
    await run.result();
    outer.end();
    const records = engine.memory.store.executions(run.id);
    expect(records.map((r) => r.trace)).toEqual([undefined, undefined, undefined]);
    await engine.close();
    expect(spans().map((s) => s.name)).toEqual(["request"]);
  });

  it("refuses a tracing option that is not a boolean, naming it", () => {
    expect(() => createEngine({ tracing: "yes" as unknown as boolean })).toThrow(/tracing must be true or false/);
  });
});

describe("traceparent", () => {
  it("round-trips a span context and refuses malformed values", () => {
    const span = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 };
    const text = traceparentOf(span);
    expect(text).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(parseTraceparent(text)).toMatchObject(span);
    for (const bad of [undefined, "", "00-0000000000000000000000000000000-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });
});
