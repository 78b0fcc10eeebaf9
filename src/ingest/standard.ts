/**
 * Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64> [v1,<base64> …]`, or the same under `svix-*`. Each v1 is an
 * HMAC-SHA256 of `"<id>.<timestamp>.<body>"` keyed by the base64-decoded secret after `whsec_`.
 * The timestamp must be within 300 s either way. Key: `webhook-id`, which the signature covers.
 * Streams route by `type`, inside the signed body.
 */
import { type Bytes, concatBytes, fromBase64 } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";
import { checkTimestamp, field, firstHeader, malformed, requireHeader, type WebhookProvider } from "./provider.ts";

export const standard: WebhookProvider<"standard"> = {
  readSignature(headers, source, now) {
    const id = requireHeader(headers, "webhook-id", "svix-id").trim();
    const timestamp = requireHeader(headers, "webhook-timestamp", "svix-timestamp");
    const header = requireHeader(headers, "webhook-signature", "svix-signature");
    const given = header
      .trim()
      .split(/\s+/)
      .filter((entry) => entry.startsWith("v1,"))
      .map((entry) => fromBase64(entry.slice(3)))
      .filter((bytes): bytes is Bytes => bytes?.length === 32);
    if (id === "") throw malformed("webhook-id is empty");
    if (given.length === 0) throw malformed('webhook-signature has no "v1,<base64>" signature');
    const t = checkTimestamp(timestamp, now, source.toleranceSeconds);
    return { given, algorithm: "sha256", signed: (body) => concatBytes(`${id}.${t}.`, body), key: decodeSecret };
  },

  classify(delivery, payload) {
    return { key: firstHeader(delivery.headers, "webhook-id", "svix-id"), keySigned: true, route: field(payload, "type") };
  },
};

/** `whsec_<base64>` (or bare base64) to key bytes. */
function decodeSecret(secret: string): Bytes {
  const bytes = fromBase64(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
  if (bytes === undefined || bytes.length === 0) {
    throw new SluiceError("source_not_configured", "a Standard Webhooks secret is not whsec_<base64>");
  }
  return bytes;
}
