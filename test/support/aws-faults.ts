/**
 * Faults injected into real AWS SDK clients, below their retry logic: each request fails
 * with the given probability, with the error the service returns (throttling, a
 * transaction conflict), and the SDK's own retries and floe's handling must absorb it.
 * Also crashes after a write: applied, and its response never seen.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

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

/** The key of an item a write touches. */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** Thrown in place of a write's response: the process "crashed" once the write was applied. */
export class InjectedCrash extends Error {
  override name = "InjectedCrash";
}

/**
 * Crashes after writes: a write armed for applies in full, then the caller sees an
 * {@link InjectedCrash} instead of its response, as a Lambda that died the moment
 * DynamoDB committed. A step of several writes stops after the first that crashes.
 */
export class WriteCrash {
  #matches: ((key: ItemKey) => boolean) | undefined;
  #times = 0;
  /** How many writes crashed. */
  crashed = 0;

  /** Crashes after each of the next `times` writes that touch an item `matches` accepts. */
  arm(matches: (key: ItemKey) => boolean, times = 1): void {
    this.#matches = matches;
    this.#times = times;
  }

  /** Wraps a store's document client (`StoreOptions.wrap`): its writes go through the crash. */
  wrap = (client: DynamoDBDocumentClient): DynamoDBDocumentClient => {
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    client.send = (async (command: unknown) => {
      const output = await send(command);
      const matches = this.#matches;
      if (this.#times > 0 && matches !== undefined && writtenKeys(command).some(matches)) {
        this.#times -= 1;
        this.crashed += 1;
        throw new InjectedCrash("the write was applied, then the process died before its response");
      }
      return output;
    }) as typeof client.send;
    return client;
  };
}

/** The keys of the items a write command touches; none for a read. */
function writtenKeys(command: unknown): ItemKey[] {
  if (command instanceof PutCommand) return [command.input.Item as unknown as ItemKey];
  if (command instanceof UpdateCommand || command instanceof DeleteCommand) return [command.input.Key as unknown as ItemKey];
  if (!(command instanceof TransactWriteCommand)) return [];
  return (command.input.TransactItems ?? []).flatMap((item) => {
    const key = item.Update?.Key ?? item.Put?.Item ?? item.Delete?.Key ?? item.ConditionCheck?.Key;
    return key === undefined ? [] : [key as unknown as ItemKey];
  });
}
