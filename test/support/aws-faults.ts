/**
 * Faults injected into real AWS SDK clients, below their retry logic: each request fails
 * with the given probability, with the error the service returns (throttling, a
 * transaction conflict), and the SDK's own retries and floe's handling must absorb it.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** Which failures, how often (0 to 1). */
export interface FaultRates {
  readonly throttling?: number;
  readonly transactionConflict?: number;
}

/** Counts of the faults injected. */
export interface InjectedCounts {
  throttled: number;
  conflicts: number;
}

/** Adds the faults to `client`; returns the live counts. `random` decides each draw. */
export function injectDynamoDbFaults(client: DynamoDBClient, rates: FaultRates, random: () => number = Math.random): InjectedCounts {
  const counts: InjectedCounts = { throttled: 0, conflicts: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (random() < (rates.throttling ?? 0)) {
        counts.throttled += 1;
        throw exception("ThrottlingException", "Rate of requests exceeds the allowed throughput.", true);
      }
      if (context.commandName === "TransactWriteItemsCommand" && random() < (rates.transactionConflict ?? 0)) {
        counts.conflicts += 1;
        throw exception("TransactionConflictException", "Transaction is ongoing for the item", true);
      }
      return next(args);
    },
    // After the retry step, so each SDK retry draws again, as a real request would.
    { step: "finalizeRequest", name: "floeInjectedFaults", priority: "low" },
  );
  return counts;
}

/** An error shaped as the SDK shapes a service's error response. */
function exception(name: string, message: string, throttling: boolean): Error {
  const error = new Error(message);
  error.name = name;
  return Object.assign(error, { $fault: "client", $metadata: { httpStatusCode: 400 }, $retryable: { throttling } });
}
