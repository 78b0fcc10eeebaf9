/**
 * What every webhook provider implements, and the checks they share. A provider reads its
 * signature headers (signature, timestamp, signed id) before any byte of the body is read, so a
 * delivery with none, or a malformed or stale one, is refused for the price of its headers. The
 * body is then verified against every secret of the source, and the parsed event classified: its
 * record key (and whether the signature covers it), its routing value, or a reply the protocol
 * demands instead of a 202.
 */
import type { Provider, SourceOf } from "../config/schema.ts";
import { type Bytes, equalDigests, type HmacAlgorithm, hmac } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";

export interface Delivery {
  headers: Headers;
  /** The raw body, exactly as received: signatures are over these bytes. */
  body: Bytes;
  /** When the request arrived, in milliseconds since the epoch. */
  now: number;
}

/** A delivery's signature as its headers give it, checked for form and age but not yet verified. */
export interface SignatureCheck {
  /** The signatures the sender gave; any one matching under any secret passes. */
  given: readonly Bytes[];
  algorithm: HmacAlgorithm;
  /** The bytes the signature is over, for a body. */
  signed(body: Bytes): Bytes;
  /** The HMAC key for a configured secret, where it is not the secret's text. */
  key?(secret: string): Bytes;
}

export interface Classified {
  /** The provider's event id; when absent the record key is the body's SHA-256. */
  key?: string | undefined;
  /**
   * Whether the signature covers the key: false for an id taken from a header outside the signed
   * content (GitHub's delivery id, Shopify's webhook id, a generic id header not in `signedContent`).
   */
  keySigned?: boolean;
  /** The value that streams' `match` patterns are tested against. */
  route?: string | undefined;
  /** A reply the protocol requires instead of a 202 (GitHub's ping, Slack's URL check). Nothing is enqueued. */
  reply?: Record<string, unknown> | undefined;
}

export interface WebhookProvider<P extends Provider> {
  /** Reads the signature headers, without the body; throws 401 if they are missing, malformed or stale. */
  readSignature(headers: Headers, source: SourceOf<P>, now: number): SignatureCheck;
  classify(delivery: Delivery, payload: unknown, source: SourceOf<P>): Classified;
}

/** Verifies a body against a signature read from its headers, under every secret; throws 401 if none matches. */
export function verifySignature(check: SignatureCheck, body: Bytes, secrets: readonly string[]): Promise<void> {
  const signed = check.signed(body);
  const keys: readonly (string | Bytes)[] = check.key ? secrets.map((secret) => check.key!(secret)) : secrets;
  return verifyAny(check.given, keys, (key) => hmac(check.algorithm, key, signed));
}

/** The first present header of `names` (providers renamed some), or a 401 naming the first. */
export function requireHeader(headers: Headers, ...names: string[]): string {
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null) return value;
  }
  throw new SluiceError("bad_signature", `missing signature header ${names[0]}`);
}

export function firstHeader(headers: Headers, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null && value.trim() !== "") return value.trim();
  }
  return undefined;
}

export function malformed(what: string): SluiceError {
  return new SluiceError("bad_signature", `malformed signature header: ${what}`);
}

/**
 * Checks a signed Unix timestamp (seconds; milliseconds above 1e12) against now, in both
 * directions, and returns it as sent. A stale or future timestamp is a replay or a bad clock.
 */
export function checkTimestamp(raw: string, now: number, toleranceSeconds: number): string {
  const value = raw.trim();
  if (!/^\d{1,16}$/.test(value)) throw malformed("timestamp is not a Unix time");
  const seconds = Number(value) > 1e12 ? Number(value) / 1000 : Number(value);
  const skew = Math.round(now / 1000 - seconds);
  if (skew > toleranceSeconds) {
    throw new SluiceError("stale_timestamp", `timestamp is ${skew} s old; the tolerance is ${toleranceSeconds} s`);
  }
  if (-skew > toleranceSeconds) {
    throw new SluiceError("stale_timestamp", `timestamp is ${-skew} s in the future; the tolerance is ${toleranceSeconds} s`);
  }
  return value;
}

/**
 * Passes if any signature the sender gave equals the expected signature under any secret.
 * Every pair is compared, in time that depends only on the lengths (`equalDigests`: an HMAC is
 * already a digest, so hashing both sides again, as tokens are, would only cost two SHA-256 per
 * pair on the webhook hot path), so timing reveals neither which secret nor how much of a
 * signature matched.
 */
export async function verifyAny<Key>(given: readonly Bytes[], keys: readonly Key[], sign: (key: Key) => Promise<Bytes>): Promise<void> {
  const expected = await Promise.all(keys.map(sign));
  const results = given.flatMap((signature) => expected.map((digest) => equalDigests(signature, digest)));
  if (!results.includes(true)) throw new SluiceError("bad_signature", "signature does not match");
}

/** A top-level string or number field of a JSON object, as a string. */
export function field(payload: unknown, ...path: string[]): string | undefined {
  let value: unknown = payload;
  for (const key of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === "string" && value.length > 0) return value;
  if (typeof value === "number") return String(value);
  return undefined;
}
