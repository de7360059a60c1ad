/**
 * floe: tasks and workflows as plain async functions, run on an embedded engine or on
 * AWS (Lambda, SQS, DynamoDB, S3). Importing it does nothing but define these exports:
 * where a top-level call runs is decided at the first one (`sdk/api/default-engine.ts`).
 */
export { task, workflow, unmapped, type Task, type Submitter, type Resolved, type Unmapped, type MapArgs } from "./api/task.ts";
export type { StartDelay } from "./runtime/start-delay.ts";
export type { TaskOptions, RetryOptions, WaitOption, ErrorClass } from "./define/options.ts";
export type { InputSchema, InputParameters, InputArguments } from "./define/input.ts";
export { Execution, type ResultOptions } from "./runtime/execution.ts";
export { wait, asCompleted } from "./runtime/waiting.ts";
export { sleep } from "./runtime/sleep.ts";
export { external, ExternalExecution, type ExternalOptions } from "./runtime/external.ts";
export { taskContext, type TaskContext } from "./runtime/context.ts";
export { log } from "./logs/log.ts";
export type { LogLevel, LogLineJson, ExecutionLogsJson } from "./logs/log-line.ts";
export { createEngine, type EngineOptions } from "#engines";
export type { Engine, GetRunOptions } from "./api/engine.ts";
export type { Submittable } from "./runtime/runtime.ts";
export type { RunQuery } from "./engine/ports.ts";
export type { ExecutionView, RunView, RunSummary, ErrorJson, ExecutionJson, RunJson, RunSummaryJson, RunListJson, ApiErrorJson } from "./http/views.ts";
export { decodeValue } from "./codec/codec.ts";
export { mergeRun } from "./http/merge-run.ts";
export { State, type ExecutionState, type Edge, type Transition } from "./engine/model.ts";
export { RunEventType, RUN_EVENT_SOURCE, type RunEvent, type RunEventDetail } from "./events/run-event.ts";
export {
  FloeError,
  NonRetriableError,
  RetryAfterError,
  TimeoutError,
  CancelledError,
  InvalidInputError,
  type InputIssue,
  ErrorCode,
  errorCode,
  defineError,
  type DefinedError,
} from "./errors.ts";
