/**
 * The reconciler: a Lambda run on a schedule, the backstop of liveness. It finds
 * executions still `queued` long after their attempt became due, whose message never left
 * or was lost with nothing to repair it (the API's Lambda died between writing a run's
 * record and sending it, and the client did not repeat the request; a worker's send failed
 * and its own message then reached the dead-letter queue), and sends them again. Most lost
 * sends are repaired sooner, by the redelivery of the message whose handler failed.
 */
import type { ScheduledEvent } from "aws-lambda";
import { entryPoint } from "./environment.ts";

/** What the reconciler needs: something that resends lost messages. */
export interface ReconcilerDeps {
  readonly engine: {
    resendLost(options: { readonly olderThanMs: number; readonly lookbackMs?: number }): Promise<string[]>;
  };
  /**
   * An execution queued this long after its attempt became due, and not started, has lost
   * its message; set it above the time a message may wait in a busy queue (more is only a
   * later recovery).
   * @default 900000 (15 minutes)
   */
  readonly olderThanMs?: number;
  /**
   * How far back executions are looked at, if not all the way.
   * @default undefined (every queued execution, however old)
   */
  readonly lookbackMs?: number;
  /**
   * Where resends are reported.
   * @default console.log
   */
  readonly log?: (message: string) => void;
}


/** Creates the reconciler's handler over `deps` (tests pass their own). */
export function createReconcilerHandler(deps: ReconcilerDeps): (event?: ScheduledEvent) => Promise<{ resent: string[] }> {
  const log = deps.log ?? ((message: string) => console.log(message));
  return async () => {
    const resent = await deps.engine.resendLost({
      olderThanMs: deps.olderThanMs ?? 900_000,
      ...(deps.lookbackMs === undefined ? {} : { lookbackMs: deps.lookbackMs }),
    });
    if (resent.length > 0) log(`floe reconciler: sent again the lost message of ${resent.length} queued execution(s): ${resent.join(", ")}`);
    return { resent };
  };
}

/** The Lambda entry point: the reconciler over the runtime the environment describes. */
export const handler = entryPoint((runtime) => createReconcilerHandler({ engine: runtime.engine }));
