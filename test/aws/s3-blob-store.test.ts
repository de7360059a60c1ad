import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3BlobStore } from "../../sdk/aws/s3-blob-store.ts";

let server: S3rver;
let client: S3Client;
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "floe-s3-"));
  server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: "floe-blobs", configs: [] }] });
  const { port } = await server.run();
  client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("S3BlobStore", () => {
  const store = () => new S3BlobStore({ client, bucket: "floe-blobs" });

  it.each([100_000, 390_000, 1_500_000])("keeps a payload of %i characters whole", async (size) => {
    const text = JSON.stringify({ data: "é".repeat(size / 2) + "x".repeat(size / 2) });
    await store().put(`e${size}/result`, text);
    expect(await store().get(`e${size}/result`)).toBe(text);
  });

  it("says which blob is missing", async () => {
    await expect(store().get("nope/result")).rejects.toThrow(/blob nope\/result does not exist in bucket floe-blobs/);
  });
});
