/** Runs `fn`, expecting it to throw (a floe error, usually); returns what it threw. */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected an error");
}
