/** The SQS server on a free port for one test file, with clients for it. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { afterAll, beforeAll } from "vitest";

/** The running server's endpoint, and a client for it (a new one per call). */
export interface SqsServer {
  readonly endpoint: () => string;
  readonly client: () => SQSClient;
}

/** Starts the server before the file's tests and stops it after them. */
export function useSqsServer(): SqsServer {
  let server: Server | undefined;
  let endpoint = "";
  beforeAll(async () => {
    server = await createSqsServer({ port: 0, hostname: "127.0.0.1" });
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });
  return {
    endpoint: () => endpoint,
    client: () => new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } }),
  };
}
