/**
 * Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64> [v1,<base64> …]`, or the same under `svix-*`. Each v1 is an
 * HMAC-SHA256 of `"<id>.<timestamp>.<body>"` keyed by the base64-decoded secret after `whsec_`.
 * The timestamp must be within 300 s either way. Key: `webhook-id`. Streams route by `type`.
 */
import { type Bytes, concatBytes, fromBase64, hmac } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";
import { checkTimestamp, field, firstHeader, malformed, requireHeader, verifyAny, type WebhookProvider } from "./provider.ts";

export const standard: WebhookProvider<"standard"> = {
  async verify(delivery, source, secrets) {
    const { headers } = delivery;
    const id = requireHeader(headers, "webhook-id", "svix-id").trim();
    const timestamp = requireHeader(headers, "webhook-timestamp", "svix-timestamp");
    const header = requireHeader(headers, "webhook-signature", "svix-signature");
    const signatures = header
      .trim()
      .split(/\s+/)
      .filter((entry) => entry.startsWith("v1,"))
      .map((entry) => fromBase64(entry.slice(3)))
      .filter((bytes): bytes is Bytes => bytes?.length === 32);
    if (id === "") throw malformed("webhook-id is empty");
    if (signatures.length === 0) throw malformed('webhook-signature has no "v1,<base64>" signature');
    const t = checkTimestamp(timestamp, delivery.now, source.toleranceSeconds);
    const signed = concatBytes(`${id}.${t}.`, delivery.body);
    await verifyAny(signatures, secrets.map(decodeSecret), (key) => hmac("sha256", key, signed));
  },

  classify(delivery, payload) {
    return { key: firstHeader(delivery.headers, "webhook-id", "svix-id"), route: field(payload, "type") };
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
