/**
 * The blob store on S3: arguments, results and errors too large for a DynamoDB item or an
 * SQS message, one object per payload, under a key prefix.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { BlobStore } from "../engine/ports.ts";

/** The dependencies of an {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /**
   * Prepended to every key.
   * @default "payloads/"
   */
  readonly prefix?: string;
}

/** A {@link BlobStore} on S3. */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  /** @param options - the client, the bucket and the key prefix */
  constructor(options: S3BlobStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? "payloads/";
  }

  async put(key: string, data: string): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#prefix + key,
        Body: data,
        ContentType: "application/json; charset=utf-8",
      }),
    );
  }

  async get(key: string): Promise<string> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }));
      if (out.Body === undefined) throw new Error(`blob ${key} has no body`);
      return await out.Body.transformToString("utf-8");
    } catch (error) {
      if (error instanceof NoSuchKey) throw new Error(`blob ${key} does not exist in bucket ${this.#bucket}`, { cause: error });
      throw error;
    }
  }
}
