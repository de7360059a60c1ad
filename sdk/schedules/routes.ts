/** The schedule routes of the HTTP API: `GET /schedules`, `POST /schedules/{workflow}/pause|resume`. */
import { ErrorCode, errorCode } from "../errors.ts";
import type { ScheduleView } from "./runner.ts";

/**
 * Where the API finds the schedules and pauses them: the in-process runner under `floe
 * dev`, EventBridge Scheduler on AWS.
 */
export interface ScheduleControl {
  list(): ScheduleView[] | Promise<ScheduleView[]>;
  /** @throws FloeError `FLOE_UNKNOWN_TASK` for a workflow without a schedule */
  pause(workflow: string): ScheduleView | Promise<ScheduleView>;
  /** @throws FloeError `FLOE_UNKNOWN_TASK` for a workflow without a schedule */
  resume(workflow: string): ScheduleView | Promise<ScheduleView>;
}

/** A schedule as the API sends it. */
function scheduleJson(view: ScheduleView): Record<string, unknown> {
  return { workflow: view.workflow, schedule: view.schedule, paused: view.paused, next: view.next?.toISOString() ?? null };
}

/**
 * Answers a schedule route, or `undefined` when the request is for another route.
 *
 * @param control - the schedules; without it the routes answer 404, naming why
 */
export async function scheduleRoute(
  control: ScheduleControl | undefined,
  method: string,
  parts: readonly string[],
): Promise<{ status: number; body: unknown } | undefined> {
  if (parts[0] !== "schedules") return undefined;
  const listing = method === "GET" && parts.length === 1;
  const action = method === "POST" && parts.length === 3 && (parts[2] === "pause" || parts[2] === "resume") ? parts[2] : undefined;
  if (!listing && action === undefined) return undefined;
  if (control === undefined) {
    return notFound(ErrorCode.NotFound, "this API runs no schedules: serve the module with floe dev, or deploy it with the construct");
  }
  if (listing) return { status: 200, body: { schedules: (await control.list()).map(scheduleJson) } };
  try {
    const workflow = parts[1] ?? "";
    return { status: 200, body: scheduleJson(await (action === "pause" ? control.pause(workflow) : control.resume(workflow))) };
  } catch (error) {
    if (errorCode(error) === ErrorCode.UnknownTask) return notFound(ErrorCode.UnknownTask, (error as Error).message);
    throw error;
  }
}

function notFound(code: string, message: string): { status: number; body: unknown } {
  return { status: 404, body: { error: { code, message } } };
}
