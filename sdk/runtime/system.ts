/** The clock and id source of a real process. */
import { hash, randomUUID } from "node:crypto";
import type { Clock, IdSource } from "../engine/ports.ts";

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** Random ids for runs; SHA-256 digests for derived ids. */
export const cryptoIds: IdSource = {
  fresh: () => randomUUID(),
  derive: (parts) => {
    const id = hash("sha256", parts.join("\u0000"), "base64url").slice(0, 22);
    // An id is typed on command lines (`floe inspect <id>`), where a leading "-" reads as an option.
    return id.startsWith("-") ? `A${id.slice(1)}` : id;
  },
};
