/**
 * The record reads of `result()`, gathered: over a store that answers later (DynamoDB),
 * the reads asked for within one turn of the event loop go out as one `getMany`, so a
 * join reading a thousand results makes a few batch reads rather than a thousand. They
 * read eventually consistent where that is safe: a record found terminal is final (a
 * terminal state never changes, and its result, error and forward were written with it),
 * while one found in any other state, or not found, may be an older version and is read
 * again consistently before it is handed out.
 */
import { isTerminal, type ExecutionRecord } from "../engine/model.ts";
import type { ExecutionStore } from "../engine/ports.ts";
import { isPromiseLike, type MaybePromise } from "../engine/step.ts";

type Found = ExecutionRecord | undefined;

interface Reader {
  readonly resolve: (record: Found) => void;
  readonly reject: (error: unknown) => void;
}

/** Readers by the id they asked for: an id asked for twice in a turn is read once. */
type Batch = Map<string, Reader[]>;

/** Gathers one runtime's record reads into batches; see the file comment. */
export class RecordReads {
  readonly #store: ExecutionStore;
  /**
   * Whether the store answers later, learned from its first answer. A store that answers
   * at once (in memory) is read directly, one `get` at a time, with no promise: batching
   * would only add a turn of the event loop to every read.
   */
  #later: boolean | undefined;
  #eventual: Batch | undefined;
  #consistent: Batch | undefined;

  /** @param store - the store to read */
  constructor(store: ExecutionStore) {
    this.#store = store;
  }

  /**
   * Reads one record, as the store's `get` would: consistent, or terminal and final.
   * @param consistent - read consistently at once: a record just created by this runtime
   *   would most likely be found stale or missing by an eventually consistent read
   */
  read(id: string, consistent: boolean): MaybePromise<Found> {
    if (this.#later === false) return this.#store.get(id);
    if (this.#later === undefined) return this.#first(id, consistent);
    return this.#enqueue(id, consistent);
  }

  /** The first read of all, which tells whether the store answers later. */
  #first(id: string, consistent: boolean): MaybePromise<Found> {
    const found = this.#store.getMany([id], { consistent });
    if (!isPromiseLike(found)) {
      this.#later = false;
      const record = found[0];
      return consistent || (record !== undefined && isTerminal(record.state)) ? record : this.#store.get(id);
    }
    this.#later = true;
    return found.then(([record]) => (consistent || (record !== undefined && isTerminal(record.state)) ? record : this.#enqueue(id, true)));
  }

  #enqueue(id: string, consistent: boolean): Promise<Found> {
    if (this.#eventual === undefined && this.#consistent === undefined) setImmediate(() => this.#flush());
    const batch = consistent ? (this.#consistent ??= new Map()) : (this.#eventual ??= new Map());
    return new Promise<Found>((resolve, reject) => {
      const readers = batch.get(id);
      if (readers === undefined) batch.set(id, [{ resolve, reject }]);
      else readers.push({ resolve, reject });
    });
  }

  #flush(): void {
    const eventual = this.#eventual;
    const consistent = this.#consistent;
    this.#eventual = undefined;
    this.#consistent = undefined;
    if (eventual !== undefined) this.#readBatch(eventual, false);
    if (consistent !== undefined) this.#readBatch(consistent, true);
  }

  /** Reads a batch and answers its readers; the records an eventually consistent read may have found stale are read again. */
  #readBatch(batch: Batch, consistent: boolean): void {
    const ids = [...batch.keys()];
    const settle = (records: readonly Found[]): void => {
      let again: Batch | undefined;
      ids.forEach((id, i) => {
        const record = records[i];
        const readers = batch.get(id) ?? [];
        if (consistent || (record !== undefined && isTerminal(record.state))) for (const reader of readers) reader.resolve(record);
        else (again ??= new Map()).set(id, readers);
      });
      if (again !== undefined) this.#readBatch(again, true);
    };
    const fail = (error: unknown): void => {
      for (const readers of batch.values()) for (const reader of readers) reader.reject(error);
    };
    try {
      const found = this.#store.getMany(ids, { consistent });
      if (isPromiseLike(found)) void found.then(settle, fail);
      else settle(found);
    } catch (error) {
      fail(error);
    }
  }
}
