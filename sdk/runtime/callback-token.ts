/**
 * Callback tokens of external executions: `<id>.<mac>`, the mac being the first 128 bits
 * of HMAC-SHA256 under the deployment's callback key, base64url. Derived, not random, so
 * every re-run of the parent gives the same URL; never stored, so nothing in the store
 * can be read back as a token. Whoever holds the key can mint any token: it is kept in the
 * store (`ExecutionStore.callbackKey`), apart from executions.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The bytes of a token's mac. */
const MAC_BYTES = 16;
/** Longer than any id floe makes plus its mac: a longer token is refused unread. */
const MAX_TOKEN_LENGTH = 512;

/** A new callback key: 32 random bytes, base64url (what the store keeps). */
export function newCallbackKey(): string {
  return randomBytes(32).toString("base64url");
}

/** The token of the external execution `id` under `key` (a key of {@link newCallbackKey}). */
export function callbackToken(key: string, id: string): string {
  return `${id}.${mac(key, id).toString("base64url")}`;
}

/**
 * The execution id a token names, if its mac is right; `undefined` for anything else
 * (malformed, forged, or of another key), told apart by nothing but this answer.
 */
export function verifyCallbackToken(key: string, token: string): string | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const dot = token.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const id = token.slice(0, dot);
  const text = token.slice(dot + 1);
  const given = Buffer.from(text, "base64url");
  // Buffer.from drops characters base64url has not: only the canonical form is accepted.
  if (given.length !== MAC_BYTES || given.toString("base64url") !== text) return undefined;
  return timingSafeEqual(given, mac(key, id)) ? id : undefined;
}

function mac(key: string, id: string): Buffer {
  return createHmac("sha256", Buffer.from(key, "base64url")).update(id).digest().subarray(0, MAC_BYTES);
}
