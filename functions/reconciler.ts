/**
 * The reconciler: a Lambda run on a schedule. It finds runs that were created but whose
 * first message never left (the API's Lambda died between writing the record and sending
 * it, and the client did not repeat the request) and sends them again, so every accepted
 * run starts. A child's lost message needs no reconciler: its parent's attempt fails or
 * is taken over, and the parent's re-run sends it again.
 */
import type { ScheduledEvent } from "aws-lambda";
import { entryPoint } from "./environment.ts";

/** What the reconciler needs: something that resends lost messages. */
export interface ReconcilerDeps {
  readonly engine: {
    resendLost(options: { readonly olderThanMs: number; readonly lookbackMs: number }): Promise<string[]>;
  };
  /**
   * A run queued and never started for this long has lost its message; set it above the
   * time a message may wait in a busy queue (more is only a later recovery).
   * @default 900000 (15 minutes)
   */
  readonly olderThanMs?: number;
  /**
   * How far back runs are looked at: the schedule's period plus `olderThanMs`, with room for
   * a missed invocation.
   * @default 3600000 (one hour)
   */
  readonly lookbackMs?: number;
  /**
   * Where resends are reported.
   * @default console.log
   */
  readonly log?: (message: string) => void;
}

/** The schedule the CDK construct gives the reconciler, in minutes. */
export const RECONCILE_EVERY_MINUTES = 10;

/** Creates the reconciler's handler over `deps` (tests pass their own). */
export function createReconcilerHandler(deps: ReconcilerDeps): (event?: ScheduledEvent) => Promise<{ resent: string[] }> {
  const log = deps.log ?? ((message: string) => console.log(message));
  return async () => {
    const resent = await deps.engine.resendLost({ olderThanMs: deps.olderThanMs ?? 900_000, lookbackMs: deps.lookbackMs ?? 3_600_000 });
    if (resent.length > 0) log(`floe reconciler: sent again the lost first message of ${resent.length} run(s): ${resent.join(", ")}`);
    return { resent };
  };
}

/** The Lambda entry point: the reconciler over the runtime the environment describes. */
export const handler = entryPoint((runtime) => createReconcilerHandler({ engine: runtime.engine }));
