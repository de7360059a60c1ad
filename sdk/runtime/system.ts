/** The clock and id sources of a real process. */
import { hash, randomBytes, randomUUID } from "node:crypto";
import type { Clock, IdSource } from "../engine/ports.ts";
import { sipHash128, sipKey } from "./siphash.ts";

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * Random ids for runs; SHA-256 digests for derived ids, the same in every process, as the
 * workers of the AWS code path need: any of them may re-run a parent and must find the
 * children an earlier run created.
 */
export const cryptoIds: IdSource = {
  fresh: () => randomUUID(),
  derive: (parts) => notAnOption(hash("sha256", parts.join("\u0000"), "base64url").slice(0, 22)),
  child: (runId, derived) => `${familyOf(runId)}${FAMILY_SEPARATOR}${derived}`,
};

/** Ends a run's family at the start of the ids of its executions below the root. */
export const FAMILY_SEPARATOR = "~";

/**
 * The family of run `runId`: what the ids of its executions below the root start with, so
 * a store can keep a run's records together and find them with one query. 66 bits of a
 * digest of the run's id (families of two runs may collide: a store filters by run); a short
 * id without the separator is its own family.
 */
export function familyOf(runId: string): string {
  if (runId.length <= 12 && !runId.includes(FAMILY_SEPARATOR)) return runId;
  return notAnOption(hash("sha256", `run\u0000${runId}`, "base64url").slice(0, 11));
}

/** An id is typed on command lines (`floe inspect <id>`), where a leading "-" reads as an option. */
function notAnOption(id: string): string {
  return id.startsWith("-") ? `A${id.slice(1)}` : id;
}

/**
 * Random ids for runs; derived ids keyed by a secret of this source's own, for an engine
 * whose store lives and dies with its process (the embedded engine): the same parts give
 * the same id for as long as the source lives, and the key keeps ids unpredictable, so
 * arguments cannot be crafted to collide with another call's id.
 *
 * The children of one parent and task share every part but the last (the arguments): the
 * key for those first parts is derived once, and each child hashes only its arguments,
 * with SipHash-2-4 when they are short (the usual case, several times cheaper than a call
 * to `crypto.hash`), with SHA-256 when they are long (where its native speed wins).
 *
 * @param key - 16 bytes; random when omitted
 */
export function keyedIds(key: Uint8Array = randomBytes(16)): IdSource {
  const root = sipKey(key);
  const tag = new Uint32Array(4);
  // The key of the last prefix (every part but the last), derived from the root key.
  const prefixKey = new Uint32Array(4);
  let prefix: readonly string[] | undefined;
  return {
    fresh: () => randomUUID(),
    derive(parts) {
      const last = parts.length - 1;
      if (prefix === undefined || !samePrefix(prefix, parts, last)) {
        prefix = parts.slice(0, last);
        sipHash128(root, prefix.join("\u0000"), prefixKey);
      }
      const text = parts[last] ?? "";
      if (text.length > maxSipHashed) return notAnOption(hash("sha256", `${base64url(prefixKey)}\u0000${text}`, "base64url").slice(0, 22));
      sipHash128(prefixKey, text, tag);
      return base64url(tag);
    },
  };
}

/**
 * The longest text hashed with SipHash, in UTF-16 units: SipHash's cost grows with the
 * text, a `crypto.hash` call's hardly does, and at 64 units an id cost about the same
 * either way here (0.67 µs and 0.70 µs).
 */
const maxSipHashed = 64;

function samePrefix(prefix: readonly string[], parts: readonly string[], length: number): boolean {
  if (prefix.length !== length) return false;
  for (let i = 0; i < length; i += 1) if (prefix[i] !== parts[i]) return false;
  return true;
}

const alphabet = Uint8Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", (c) => c.charCodeAt(0));
const A = 0x41;
/** The character of the low six bits of `bits`. */
const c = (bits: number): number => alphabet[bits & 63] as number;
const MINUS = 0x2d;

/**
 * 128 bits as 22 URL-safe characters, built as one flat string: five characters of six
 * bits from each 32-bit word, then one of the top two bits of the first three words, and
 * one of the top two bits of the last.
 */
function base64url(words: Uint32Array): string {
  const w0 = words[0] ?? 0;
  const w1 = words[1] ?? 0;
  const w2 = words[2] ?? 0;
  const w3 = words[3] ?? 0;
  const first = c(w0);
  return String.fromCharCode(
    first === MINUS ? A : first,
    c(w0 >>> 6), c(w0 >>> 12), c(w0 >>> 18), c(w0 >>> 24),
    c(w1), c(w1 >>> 6), c(w1 >>> 12), c(w1 >>> 18), c(w1 >>> 24),
    c(w2), c(w2 >>> 6), c(w2 >>> 12), c(w2 >>> 18), c(w2 >>> 24),
    c(w3), c(w3 >>> 6), c(w3 >>> 12), c(w3 >>> 18), c(w3 >>> 24),
    c((w0 >>> 30) | ((w1 >>> 30) << 2) | ((w2 >>> 30) << 4)),
    c(w3 >>> 30),
  );
}
