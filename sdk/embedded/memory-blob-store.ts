/** The in-memory blob store of the embedded engine. */
import type { BlobStore } from "../engine/ports.ts";

/** Keeps large payloads in a map. */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, string>();

  put(key: string, data: string): void {
    this.#blobs.set(key, data);
  }

  get(key: string): string {
    const data = this.#blobs.get(key);
    if (data === undefined) throw new Error(`blob ${key} does not exist`);
    return data;
  }

  /** How many blobs are held. */
  get size(): number {
    return this.#blobs.size;
  }
}
