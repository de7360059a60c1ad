/**
 * Publishes completion events with EventBridge's `PutEvents`: batches of at most ten
 * entries (the request's limit), the entries a response reports failed sent again, and a
 * batch that still fails after that thrown, so the caller (the coordinator, on a stream
 * batch) is retried whole: delivery is at least once, never at most once.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { RUN_EVENT_SOURCE, type RunEvent } from "./run-event.ts";

/** The most entries one `PutEvents` request takes. */
export const PUT_EVENTS_BATCH = 10;

/** Something that publishes run events; throws when some could not be published. */
export type RunEventPublisher = (events: readonly RunEvent[]) => Promise<void>;

/** The settings of {@link createEventBridgePublisher}. */
export interface EventBridgePublisherOptions {
  /** The bus's name or ARN. */
  readonly busName: string;
  /** The client to send with (tests point one at a local endpoint). */
  readonly client?: EventBridgeClient;
  /**
   * How many times a batch's failed entries are sent again before giving up.
   * @default 3
   */
  readonly retries?: number;
}

/** A publisher that puts events on the EventBridge bus `busName`. */
export function createEventBridgePublisher(options: EventBridgePublisherOptions): RunEventPublisher {
  const client = options.client ?? new EventBridgeClient({});
  const retries = options.retries ?? 3;
  return async (events) => {
    const entries = events.map((event): PutEventsRequestEntry => ({
      EventBusName: options.busName,
      Source: RUN_EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
    }));
    const batches: PutEventsRequestEntry[][] = [];
    for (let i = 0; i < entries.length; i += PUT_EVENTS_BATCH) batches.push(entries.slice(i, i + PUT_EVENTS_BATCH));
    await Promise.all(batches.map((batch) => putAll(client, batch, retries)));
  };
}

async function putAll(client: EventBridgeClient, batch: PutEventsRequestEntry[], retries: number): Promise<void> {
  let pending = batch;
  let lastError = "";
  for (let attempt = 0; attempt <= retries && pending.length > 0; attempt++) {
    const response = await client.send(new PutEventsCommand({ Entries: pending }));
    if ((response.FailedEntryCount ?? 0) === 0) return;
    // Entries answer in request order; a failed one has an error code and no event id.
    const results = response.Entries ?? [];
    const failed = pending.filter((_, i) => results[i]?.ErrorCode !== undefined || results[i]?.EventId === undefined);
    lastError = results.find((r) => r.ErrorCode !== undefined)?.ErrorMessage ?? results.find((r) => r.ErrorCode !== undefined)?.ErrorCode ?? "";
    pending = failed;
  }
  if (pending.length > 0) {
    throw new Error(`EventBridge refused ${pending.length} of ${batch.length} events after ${retries + 1} tries: ${lastError}`);
  }
}
