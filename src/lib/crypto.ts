/**
 * WebCrypto helpers: HMAC for webhook signatures and dashboard sessions, SHA-256 for record keys
 * and token digests, and Sluice's one constant-time comparison (`equalDigests`), which bearer
 * tokens, webhook signatures and session cookies are all checked with.
 */
const encoder = new TextEncoder();

export type Bytes = Uint8Array<ArrayBuffer>;

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses lowercase or uppercase hex; returns undefined for anything that is not hex. */
export function fromHex(hex: string): Bytes | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(new ArrayBuffer(hex.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function utf8(text: string): Bytes {
  return encoder.encode(text) as Bytes;
}

/** 32-bit FNV-1a as 8 hex digits: a cheap, synchronous way to keep generated names distinct. Not for secrets. */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

export async function sha256(data: string | Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", typeof data === "string" ? utf8(data) : data));
}

export async function sha256Hex(data: string | Bytes): Promise<string> {
  return toHex(await sha256(data));
}

export type HmacAlgorithm = "sha256" | "sha1";

const hashNames: Record<HmacAlgorithm, string> = { sha256: "SHA-256", sha1: "SHA-1" };

/**
 * Imported HMAC keys, by algorithm and secret, for the life of the isolate: importing costs as
 * much as signing a small body, and the same few secrets sign every delivery. Keys are
 * non-extractable, and the map holds only the secrets the config names.
 */
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(algorithm: HmacAlgorithm, secret: string | Bytes): Promise<CryptoKey> {
  const id = `${algorithm}:${typeof secret === "string" ? `s:${secret}` : `b:${toHex(secret)}`}`;
  let key = hmacKeys.get(id);
  if (!key) {
    const keyBytes = typeof secret === "string" ? utf8(secret) : secret;
    key = crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: hashNames[algorithm] }, false, ["sign"]);
    if (hmacKeys.size >= 64) hmacKeys.clear();
    hmacKeys.set(id, key);
  }
  return key;
}

export async function hmac(algorithm: HmacAlgorithm, secret: string | Bytes, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(algorithm, secret), data));
}

export const hmacSha256 = (secret: string | Bytes, data: Bytes) => hmac("sha256", secret, data);

/** Strict standard base64 (with padding); returns undefined for anything else. */
export function fromBase64(text: string): Bytes | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const binary = atob(text);
    const out = new Uint8Array(new ArrayBuffer(binary.length));
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function concatBytes(...parts: (string | Uint8Array)[]): Bytes {
  const arrays = parts.map((part) => (typeof part === "string" ? utf8(part) : part));
  const out = new Uint8Array(new ArrayBuffer(arrays.reduce((sum, a) => sum + a.length, 0)));
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}

/**
 * Equality of two digests in time that depends only on their length, which for digests of one
 * algorithm is fixed. Compare digests, never the secrets themselves, so that the length of a
 * secret does not show either.
 */
export function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Constant-time equality. Both sides are hashed first, so inputs of different lengths take the
 * same time and the comparison never leaks the expected length; equal digests mean equal inputs.
 */
export async function timingSafeEqual(a: string | Bytes, b: string | Bytes): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  return equalDigests(x, y);
}

/** True if `candidate` equals any of `allowed`, checking every entry so timing reveals nothing. */
export async function matchesAny(candidate: string | Bytes, allowed: readonly (string | Bytes)[]): Promise<boolean> {
  const results = await Promise.all(allowed.map((value) => timingSafeEqual(candidate, value)));
  return results.includes(true);
}
