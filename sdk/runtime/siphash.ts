/**
 * SipHash-2-4 with a 128-bit tag (Aumasson and Bernstein, 2012): a keyed pseudorandom
 * function for short inputs. The embedded engine derives child ids with it because
 * `crypto.hash` costs about a microsecond per call here, most of it the call itself rather
 * than the hashing (SHA-256, SHA-1 and MD5 cost the same on short inputs), and a fan-out
 * derives one id per task.
 *
 * The input is a string's UTF-16 code units, read as little-endian bytes (two per unit).
 * JavaScript has no 64-bit integer that is not a BigInt, so each 64-bit word of the state
 * is two 32-bit halves, `h` and `l`.
 */

/** A 128-bit key as four 32-bit words, least significant first (key bytes 0-3, 4-7, 8-11, 12-15). */
export type SipKey = Uint32Array;

/** Reads a 16-byte key. */
export function sipKey(bytes: Uint8Array): SipKey {
  if (bytes.length !== 16) throw new RangeError(`a SipHash key is 16 bytes, not ${bytes.length}`);
  const key = new Uint32Array(4);
  for (let i = 0; i < 4; i += 1) {
    key[i] = ((bytes[4 * i] ?? 0) | ((bytes[4 * i + 1] ?? 0) << 8) | ((bytes[4 * i + 2] ?? 0) << 16) | ((bytes[4 * i + 3] ?? 0) << 24)) >>> 0;
  }
  return key;
}

/**
 * Writes the 128-bit SipHash-2-4 tag of `text` under `key` into `out`, as four 32-bit
 * words (tag bytes 0-3, 4-7, 8-11, 12-15, each little-endian).
 */
export function sipHash128(key: SipKey, text: string, out: Uint32Array): void {
  const k0l = key[0] ?? 0;
  const k0h = key[1] ?? 0;
  const k1l = key[2] ?? 0;
  const k1h = key[3] ?? 0;
  // "somepseudorandomlygeneratedbytes"; 0xee marks a 128-bit tag.
  let v0h = k0h ^ 0x736f6d65;
  let v0l = k0l ^ 0x70736575;
  let v1h = k1h ^ 0x646f7261;
  let v1l = k1l ^ 0x6e646f6d ^ 0xee;
  let v2h = k0h ^ 0x6c796765;
  let v2l = k0l ^ 0x6e657261;
  let v3h = k1h ^ 0x74656462;
  let v3l = k1l ^ 0x79746573;
  const units = text.length;
  const whole = units >> 2; // four units make one 64-bit message word
  // Stages: each message word, then the last word (the leftover units and the length in
  // bytes mod 256), then the two halves of the finalisation. One loop, so the round is
  // written once.
  for (let stage = 0; stage <= whole + 2; stage += 1) {
    let mh = 0;
    let ml = 0;
    let rounds = 2;
    if (stage < whole) {
      const i = stage << 2;
      ml = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
      mh = text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16);
    } else if (stage === whole) {
      const i = whole << 2;
      const left = units - i;
      if (left > 0) ml = text.charCodeAt(i);
      if (left > 1) ml |= text.charCodeAt(i + 1) << 16;
      if (left > 2) mh = text.charCodeAt(i + 2);
      mh |= ((units << 1) & 0xff) << 24;
    } else {
      rounds = 4;
      if (stage === whole + 1) v2l ^= 0xee;
      else v1l ^= 0xdd;
    }
    v3h ^= mh;
    v3l ^= ml;
    for (let r = 0; r < rounds; r += 1) {
      let l: number;
      let t: number;
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      l = (v0l + v1l) | 0;
      v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~l)) >>> 31)) | 0;
      v0l = l;
      t = (v1h << 13) | (v1l >>> 19);
      v1l = (v1l << 13) | (v1h >>> 19);
      v1h = t ^ v0h;
      v1l ^= v0l;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
      l = (v2l + v3l) | 0;
      v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~l)) >>> 31)) | 0;
      v2l = l;
      t = (v3h << 16) | (v3l >>> 16);
      v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
      v3h = t ^ v2h;
      // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
      l = (v0l + v3l) | 0;
      v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~l)) >>> 31)) | 0;
      v0l = l;
      t = (v3h << 21) | (v3l >>> 11);
      v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
      v3h = t ^ v0h;
      // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
      l = (v2l + v1l) | 0;
      v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~l)) >>> 31)) | 0;
      v2l = l;
      t = (v1h << 17) | (v1l >>> 15);
      v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
      v1h = t ^ v2h;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    v0h ^= mh;
    v0l ^= ml;
    if (stage > whole) {
      const at = stage === whole + 1 ? 0 : 2;
      out[at] = v0l ^ v1l ^ v2l ^ v3l;
      out[at + 1] = v0h ^ v1h ^ v2h ^ v3h;
    }
  }
}
