/**
 * Engine steps: generators that yield port calls and receive their results. A step runs
 * synchronously for as long as every port answers at once (the in-memory adapters) and
 * becomes asynchronous at the first port that answers later (DynamoDB, SQS, S3). So the
 * embedded engine pays for no promise it does not need, and one engine serves both.
 */

/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

/** An engine step returning `T`. */
export type Step<T> = Generator<unknown, T, unknown>;

/** True for promises and other thenables. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}

/**
 * Yields a port call and returns its result, typed.
 * @example
 * const created = yield* call(store.create(record));
 */
export function* call<T>(value: MaybePromise<T>): Step<T> {
  return (yield value) as T;
}

/** Runs steps side by side (concurrently when their ports are asynchronous); results in order. */
export function* all<T>(steps: readonly Step<T>[]): Step<T[]> {
  const results = steps.map((step) => drive(step));
  if (!results.some(isPromiseLike)) return results as T[];
  return (yield Promise.all(results)) as T[];
}

/**
 * Runs a step to its end: synchronously while its port calls answer at once, then
 * asynchronously. A port error is thrown into the step, where it can be caught.
 */
export function drive<T>(step: Step<T>): MaybePromise<T> {
  return resume(step, step.next());
}

function resume<T>(step: Step<T>, result: IteratorResult<unknown, T>): MaybePromise<T> {
  let current = result;
  while (current.done !== true) {
    const value = current.value;
    if (isPromiseLike(value)) {
      return Promise.resolve(value).then(
        (resolved) => resume(step, step.next(resolved)),
        (error: unknown) => resume(step, step.throw(error)),
      );
    }
    current = step.next(value);
  }
  return current.value;
}

/**
 * Runs `work` over every item, at most `limit` at once (when its ports are asynchronous);
 * results in order. For sweeps of thousands of writes, which `all` would start together.
 */
export function* pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Step<R>): Step<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  // Each lane takes the next item as soon as its previous one is done.
  const lane = (): MaybePromise<void> => {
    while (next < items.length) {
      const i = next;
      next += 1;
      const result = drive(work(items[i] as T));
      if (isPromiseLike(result)) {
        return Promise.resolve(result).then((value) => {
          results[i] = value;
          return lane();
        });
      }
      results[i] = result;
    }
    return undefined;
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.min(limit, items.length); i += 1) {
    const running = lane();
    if (running !== undefined) lanes.push(running);
  }
  if (lanes.length > 0) yield Promise.all(lanes);
  return results;
}
