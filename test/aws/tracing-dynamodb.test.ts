/**
 * Traces across processes: the `traceparent` a submission writes on DynamoDB Local is the
 * one the child's span continues in another runtime (another Lambda), which shares nothing
 * with the submitter but the table and the queue.
 */
import { describe, expect, it } from "vitest";
import { context, trace } from "@opentelemetry/api";
import { task } from "floe";
import { MemoryBlobStore } from "../../sdk/embedded/memory-blob-store.ts";
import { MemoryTaskQueue } from "../../sdk/embedded/memory-task-queue.ts";
import { Runtime } from "../../sdk/runtime/runtime.ts";
import { cryptoIds, systemClock } from "../../sdk/runtime/system.ts";
import { parseTraceparent } from "../../sdk/runtime/attempt-tracer.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { takeAll } from "../support/take-all.ts";
import { useInMemoryTracing } from "../support/tracing.ts";

const stores = useDynamoDbLocal();
const exporter = useInMemoryTracing();

const greet = task("trd_greet", async (name: string) => `hello ${name}`);

describe("traceparent on DynamoDB", () => {
  it("keeps the submitting span's traceparent on the record, and the other process's attempt span continues it", async () => {
    const store = await stores();
    const queue = new MemoryTaskQueue(systemClock);
    const blobs = new MemoryBlobStore();
    const runtime = (tracing: boolean) => new Runtime({ store, queue, blobs, clock: systemClock, ids: cryptoIds, tracing, takeOverAfterMs: 900_000 });
    const api = runtime(true);
    const worker = runtime(true);

    const request = trace.getTracer("test").startSpan("POST /workflows");
    const execution = context.with(trace.setSpan(context.active(), request), () => api.submit(greet, "ada"));
    await execution.state();
    request.end();
    const stored = await store.get(execution.id);
    expect(parseTraceparent(stored?.trace)).toMatchObject({ traceId: request.spanContext().traceId, spanId: request.spanContext().spanId });

    for (const message of takeAll(queue)) await worker.process(message);
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === "floe.task trd_greet");
    expect(span?.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(span?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(span?.parentSpanContext?.isRemote).toBe(true);
    await Promise.all([api.close(), worker.close()]);
  });

  it("writes no traceparent when tracing is off", async () => {
    const store = await stores();
    const api = new Runtime({ store, queue: new MemoryTaskQueue(systemClock), blobs: new MemoryBlobStore(), clock: systemClock, ids: cryptoIds });
    const request = trace.getTracer("test").startSpan("POST /workflows");
    const execution = context.with(trace.setSpan(context.active(), request), () => api.submit(greet, "bo"));
    await execution.state();
    request.end();
    expect(await stores.item({ pk: `X#${execution.id}`, sk: "X" })).not.toHaveProperty("trace");
    await api.close();
  });
});
