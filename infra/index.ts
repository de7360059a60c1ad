/** floe's CDK constructs: `import { Orchestrator } from "floe/infra"`. */
export { Orchestrator } from "./orchestrator.ts";
export type { FailureRateAlarmProps, JwtScopes, MonitoringProps, OrchestratorProps, TaskFunctionProps } from "./orchestrator-props.ts";
export { OrchestratorMonitoring } from "./monitoring.ts";
export { OrchestratorApi, apiRoutes, defaultJwtScopes, type RouteAccess } from "./orchestrator-api.ts";
export { TaskWorker } from "./task-worker.ts";
export { AWS_CONDITION, bundlingOptions } from "./bundling.ts";
export type { TaskSummary } from "./task-definitions.ts";
export { WorkflowSchedule, scheduleExpression } from "./schedules.ts";
