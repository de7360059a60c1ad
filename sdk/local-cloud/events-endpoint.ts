/**
 * A local stand-in for EventBridge's `PutEvents`, the one call floe makes: an HTTP server
 * speaking the JSON protocol (`X-Amz-Target: AWSEvents.PutEvents`) that the real SDK client
 * sends to, so the local cloud's coordinator publishes through the same code as in AWS.
 * Each accepted entry is handed to `onEvent`; nothing is routed or stored.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";

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
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(body));
      };
      if (request.headers["x-amz-target"] !== "AWSEvents.PutEvents") {
        reply(400, { __type: "UnknownOperationException", message: `only PutEvents is served, not ${String(request.headers["x-amz-target"])}` });
        return;
      }
      let entries: { EventBusName?: string; Source?: string; DetailType?: string; Detail?: string }[];
      try {
        entries = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Entries?: typeof entries }).Entries ?? [];
      } catch (error) {
        reply(400, { __type: "ValidationException", message: `the body is not JSON: ${(error as Error).message}` });
        return;
      }
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
      reply(200, { FailedEntryCount: failed, Entries: results });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error)))),
  };
}
