/**
 * How a running attempt learns of a cancellation made by another process (the API's
 * Lambda cancelling what a worker runs): a runtime aborts the attempts it runs itself
 * when it writes their cancellation, but nothing tells a worker elsewhere.
 */
import type { ExecutionEngine } from "../engine/execution-engine.ts";
import { State } from "../engine/model.ts";
import type { Clock } from "../engine/ports.ts";
import { CancelledError } from "../errors.ts";
import type { ExecutionContext } from "./context.ts";

/**
 * Watches one attempt's execution for a cancellation: a consistent read of its record every
 * `everyMs` while the attempt runs, and one after each child it creates, before the child
 * may start. Once the execution is found cancelled, the attempt's signal is aborted and
 * every child it submitted is cancelled, with everything under them: the cancel's sweep
 * may have read the run before they existed.
 */
export class CancelWatch {
  readonly #context: ExecutionContext;
  readonly #engine: ExecutionEngine;
  readonly #clock: Clock;
  readonly #everyMs: number;
  /** The children this attempt submitted, in order. */
  readonly #children: string[] = [];
  #stopTimer: (() => void) | undefined;
  #stopped = false;
  /** The read in flight, if any. */
  #reading: Promise<boolean> | undefined;
  /** The read that starts once the one in flight is over, for callers that came after it started. */
  #next: Promise<boolean> | undefined;
  #cancelled: Promise<CancelledError> | undefined;

  /**
   * @param context - the attempt; its record's id is read
   * @param engine - the engine, for its store and to cancel the children
   * @param clock - schedules the reads
   * @param everyMs - the time between two reads while the attempt runs
   */
  constructor(context: ExecutionContext, engine: ExecutionEngine, clock: Clock, everyMs: number) {
    this.#context = context;
    this.#engine = engine;
    this.#clock = clock;
    this.#everyMs = everyMs;
    this.#schedule();
  }

  /** Stops the reads: the attempt is over. */
  stop(): void {
    this.#stopped = true;
    this.#stopTimer?.();
  }

  /**
   * Notes a child the attempt submits; returns the check its registration makes once the
   * child's record exists (see `NewExecution.admit`).
   */
  child(id: string): () => Promise<unknown> {
    this.#children.push(id);
    return this.#admit;
  }

  /** `undefined` while the execution is not cancelled; else the reason to cancel a new child with. */
  readonly #admit = async (): Promise<unknown> => {
    // A read started after the child's record was written: if the cancel's sweep came
    // before that write, its own write to this execution came before too, and shows here.
    if (this.#cancelled === undefined && !(await this.#check())) return undefined;
    return this.#cancel();
  };

  #schedule(): void {
    if (this.#stopped) return;
    this.#stopTimer = this.#clock.schedule(this.#everyMs, () => {
      // One of the attempt's writes, so that the attempt ends only after this read and
      // the cancellations it sets off.
      this.#context.addWrite(this.#poll());
    });
  }

  async #poll(): Promise<void> {
    let cancelled = false;
    try {
      cancelled = await this.#check();
    } catch {
      // A failed read is as good as none: the next one comes in `everyMs`.
    }
    if (cancelled) await this.#cancel();
    else this.#schedule();
  }

  /** Whether the execution is cancelled, as a consistent read started after this call finds it. */
  #check(): Promise<boolean> {
    if (this.#reading === undefined) return this.#read();
    // The read in flight may have started before the caller's write: take the next one.
    const next = () => {
      this.#next = undefined;
      return this.#read();
    };
    return (this.#next ??= this.#reading.then(next, next));
  }

  #read(): Promise<boolean> {
    const reading = Promise.resolve(this.#engine.store.get(this.#context.record.id)).then((r) => r?.state === State.Cancelled);
    this.#reading = reading;
    const done = () => {
      if (this.#reading === reading) this.#reading = undefined;
    };
    void reading.then(done, done);
    return reading;
  }

  /** Aborts the attempt and cancels its children, once; resolves to the reason. */
  #cancel(): Promise<CancelledError> {
    this.#cancelled ??= (async () => {
      const id = this.#context.record.id;
      const reason = new CancelledError(`execution ${id} was cancelled`);
      // First, so that the code submits nothing more (a submission now throws).
      this.#context.abort(reason);
      if (this.#children.length > 0) await this.#engine.cancel([...this.#children], reason);
      return reason;
    })();
    return this.#cancelled;
  }
}
