/**
 * A local stand-in for EventBridge's `PutEvents`, the one call floe makes: an HTTP server
 * speaking the JSON protocol (`X-Amz-Target: AWSEvents.PutEvents`) that the real SDK client
 * sends to, so the local cloud's coordinator publishes through the same code as in AWS.
 * Each accepted entry is handed to `onEvent`; nothing is routed or stored.
 */
import { randomUUID } from "node:crypto";
import { ServiceError, startJsonEndpoint } from "./json-endpoint.ts";

/** One entry as `PutEvents` receives it, with `Detail` parsed. */
export interface PublishedEvent {
  readonly busName: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
}

/** The settings of {@link startEventsEndpoint}. */
export interface EventsEndpointOptions {
  /** Called for each accepted entry, in request order. */
  readonly onEvent: (event: PublishedEvent) => void;
  /** Entries for which this returns true are answered as failed (`InternalFailure`), as EventBridge may. */
  readonly refuse?: (event: PublishedEvent) => boolean;
}

/** A running endpoint: its URL, for the client's `endpoint`, and how to stop it. */
export interface EventsEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the endpoint on a free local port. */
export async function startEventsEndpoint(options: EventsEndpointOptions): Promise<EventsEndpoint> {
  return startJsonEndpoint("json-1.1", ({ target, body }) => {
    if (target !== "AWSEvents.PutEvents") throw new ServiceError(400, "UnknownOperationException", `only PutEvents is served, not ${String(target)}`);
    const entries = (body as { Entries?: { EventBusName?: string; Source?: string; DetailType?: string; Detail?: string }[] }).Entries ?? [];
    let failed = 0;
    const results = entries.map((entry) => {
      const event: PublishedEvent = {
        busName: entry.EventBusName ?? "default",
        source: entry.Source ?? "",
        detailType: entry.DetailType ?? "",
        detail: JSON.parse(entry.Detail ?? "{}") as unknown,
      };
      if (options.refuse?.(event) === true) {
        failed++;
        return { ErrorCode: "InternalFailure", ErrorMessage: "refused by the local endpoint" };
      }
      options.onEvent(event);
      return { EventId: randomUUID() };
    });
    return { FailedEntryCount: failed, Entries: results };
  });
}
