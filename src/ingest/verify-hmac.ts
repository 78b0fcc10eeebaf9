/**
 * The generic HMAC verifier: a header holding `<prefix><hex HMAC-SHA256 of the raw body>`,
 * checked against every configured secret (rotation) in constant time.
 */
import type { z } from "zod";
import type { hmacVerifierSchema } from "../config/schema.ts";
import { SluiceError } from "../lib/errors.ts";
import { type Bytes, fromHex, hmacSha256, matchesAny } from "../lib/crypto.ts";

export type HmacVerifier = z.output<typeof hmacVerifierSchema>;

export async function verifyHmacSignature(
  verifier: HmacVerifier,
  headers: Headers,
  body: Bytes,
  secrets: readonly string[],
): Promise<void> {
  const header = headers.get(verifier.header);
  if (header === null) {
    throw new SluiceError("bad_signature", `missing signature header ${verifier.header}`);
  }
  const value = header.trim();
  if (!value.startsWith(verifier.prefix)) {
    throw new SluiceError("bad_signature", `malformed signature: expected "${verifier.prefix}<hex>"`);
  }
  const given = fromHex(value.slice(verifier.prefix.length));
  if (given === undefined || given.length !== 32) {
    throw new SluiceError("bad_signature", `malformed signature: expected "${verifier.prefix}<hex>"`);
  }
  const expected = await Promise.all(secrets.map((secret) => hmacSha256(secret, body)));
  if (!(await matchesAny(given, expected))) {
    throw new SluiceError("bad_signature", "signature does not match");
  }
}
