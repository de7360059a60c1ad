/**
 * A function's containers, as Lambda keeps them: each has a runtime of its own (made by
 * the same factory as in Lambda) and its handler, built at its cold start; it handles one
 * event at a time. An event goes to a free warm container, or to a new one when every
 * container is busy. So no two functions share anything in memory, and neither do two
 * events of one function handled at once: a task's parent and child of the same task never
 * share a runtime while both run, and a parent learns of its child's finish only by being
 * run again, as in AWS.
 */
import type { Runtime } from "../runtime/runtime.ts";

/** The containers of one function. */
export class FunctionContainers<E, R> {
  readonly #name: string;
  readonly #start: () => Runtime;
  readonly #handler: (runtime: Runtime) => (event: E) => Promise<R>;
  readonly #free: Container<E, R>[] = [];
  readonly #all: Container<E, R>[] = [];
  #closed = false;

  /**
   * @param name - the function's name, for errors
   * @param start - makes a container's runtime (a cold start)
   * @param handler - builds the function's handler over a container's runtime
   */
  constructor(name: string, start: () => Runtime, handler: (runtime: Runtime) => (event: E) => Promise<R>) {
    this.#name = name;
    this.#start = start;
    this.#handler = handler;
  }

  /** Handles `event` on a free container, or on a new one if none is free. */
  async invoke(event: E): Promise<R> {
    if (this.#closed) throw new Error(`floe local cloud: the function ${this.#name} was invoked after the local cloud closed`);
    const container = this.#free.pop() ?? this.#coldStart();
    try {
      return await container.handle(event);
    } finally {
      if (!this.#closed) this.#free.push(container);
    }
  }

  /** How many containers were started (cold starts). */
  get started(): number {
    return this.#all.length;
  }

  /** Closes every container's runtime: the attempts they run are aborted. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#free.length = 0;
    await Promise.all(this.#all.map((container) => container.runtime.close()));
  }

  #coldStart(): Container<E, R> {
    const runtime = this.#start();
    const container = { runtime, handle: this.#handler(runtime) };
    this.#all.push(container);
    return container;
  }
}

interface Container<E, R> {
  readonly runtime: Runtime;
  readonly handle: (event: E) => Promise<R>;
}
