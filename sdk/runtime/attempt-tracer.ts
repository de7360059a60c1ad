/**
 * Traces: every attempt runs inside an OpenTelemetry span, `floe.task <task>`, whose parent
 * is the span that submitted the execution. That parent crosses processes as a W3C
 * `traceparent` kept on the execution's record from its creation (`ExecutionRecord.trace`),
 * so a child run by another Lambda, a retry, and a re-run after a suspension or a sleep all
 * continue the trace of the attempt that submitted them.
 *
 * floe uses only `@opentelemetry/api`: with no SDK registered (the user brings one, and its
 * exporter) every span is a no-op and nothing is recorded.
 */
import { ROOT_CONTEXT, SpanStatusCode, context, isSpanContextValid, trace, type Context, type Span, type SpanContext } from "@opentelemetry/api";
import { describeThrown } from "../codec/readable-error.ts";
import type { ExecutionRecord } from "../engine/model.ts";
import { AttemptEnding, type AttemptEnd, type AttemptWatch, type AttemptWatcher } from "./attempt-watch.ts";

/** The tracer's name, as exporters show it (the instrumentation scope). */
export const TRACER_NAME = "floe";

/** Runs each attempt inside a span; see the file comment. */
export class AttemptTracer implements AttemptWatcher {
  start(record: ExecutionRecord, at: number): AttemptWatch {
    const parent = parentContext(record.trace);
    const span = trace.getTracer(TRACER_NAME).startSpan(
      `floe.task ${record.taskName}`,
      {
        startTime: at,
        attributes: {
          "floe.run_id": record.runId,
          "floe.execution_id": record.id,
          "floe.task": record.taskName,
          "floe.attempt": record.attempt,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    return {
      run: (fn) => context.with(active, fn),
      traceparent: traceparentOf(span.spanContext()),
      end: (end) => endSpan(span, end),
    };
  }

  /**
   * The `traceparent` a submission made now carries: the active span's (the submitting
   * attempt's, or a span of the user's code inside it or around a top-level submit), else
   * the attempt's own when no context manager carries the active span across awaits. A run
   * started outside any span gets a `floe.submit <task>` span of its own, so that every
   * attempt of its root (a re-run after a suspension comes in another process) is in one trace.
   *
   * @param attempt - the submitting attempt's `traceparent`; `undefined` outside any task
   * @param taskName - what is submitted
   */
  static submitting(attempt: string | undefined, taskName: string): string | undefined {
    const active = trace.getActiveSpan()?.spanContext();
    if (active !== undefined && isSpanContextValid(active)) return traceparentOf(active);
    if (attempt !== undefined) return attempt;
    const span = trace.getTracer(TRACER_NAME).startSpan(`floe.submit ${taskName}`, { attributes: { "floe.task": taskName } });
    span.end();
    return traceparentOf(span.spanContext());
  }
}

function endSpan(span: Span, end: AttemptEnd): void {
  span.setAttribute("floe.outcome", end.ending);
  if (end.error !== undefined && end.ending !== AttemptEnding.Cancelled) {
    span.recordException(end.error instanceof Error ? end.error : describeThrown(end.error));
  }
  const failed = end.ending === AttemptEnding.Failed || end.ending === AttemptEnding.Retried || end.ending === AttemptEnding.Unrecorded;
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(end.error) });
  span.end(end.at);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : describeThrown(error);
}

/** The W3C `traceparent` of a span: version 00, trace id, span id, flags. */
export function traceparentOf(span: SpanContext): string | undefined {
  if (!isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span context a W3C `traceparent` names, or `undefined` for a missing or malformed one
 * (a record written by another version keeps its trace opaque: it is never trusted further).
 */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const match = value === undefined ? null : TRACEPARENT.exec(value);
  if (match === null || match[1] === "ff") return undefined;
  const span: SpanContext = { traceId: match[2] ?? "", spanId: match[3] ?? "", traceFlags: parseInt(match[4] ?? "0", 16), isRemote: true };
  return isSpanContextValid(span) ? span : undefined;
}

/**
 * The context an attempt's span starts in: the submitter's span, or none. Never the active
 * context: an attempt may be started from inside another's code (the embedded engine starts
 * a released execution there), which is no parent of it.
 */
function parentContext(traceparent: string | undefined): Context {
  const parent = parseTraceparent(traceparent);
  return parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
}
