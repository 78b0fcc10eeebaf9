/**
 * What every webhook provider implements, and the checks they share. A provider verifies a
 * delivery (signature, timestamp) against every secret of its source, then classifies the parsed
 * event: its record key, its routing value, or a reply the protocol demands instead of a 202.
 */
import type { SourceOf, Provider } from "../config/schema.ts";
import { type Bytes, matchesAny } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";

export interface Delivery {
  headers: Headers;
  /** The raw body, exactly as received: signatures are over these bytes. */
  body: Bytes;
  /** When the request arrived, in milliseconds since the epoch. */
  now: number;
}

export interface Classified {
  /** The provider's event id; when absent the record key is the body's SHA-256. */
  key?: string | undefined;
  /** The value that streams' `match` patterns are tested against. */
  route?: string | undefined;
  /** A reply the protocol requires instead of a 202 (GitHub's ping, Slack's URL check). Nothing is enqueued. */
  reply?: Record<string, unknown> | undefined;
}

export interface WebhookProvider<P extends Provider> {
  verify(delivery: Delivery, source: SourceOf<P>, secrets: readonly string[]): Promise<void>;
  classify(delivery: Delivery, payload: unknown, source: SourceOf<P>): Classified;
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
 * Every pair is compared in constant time, so timing reveals neither which secret nor how much
 * of a signature matched.
 */
export async function verifyAny<Key>(
  given: readonly Bytes[],
  keys: readonly Key[],
  sign: (key: Key) => Promise<Bytes>,
): Promise<void> {
  const expected = await Promise.all(keys.map(sign));
  const results = await Promise.all(given.map((signature) => matchesAny(signature, expected)));
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
