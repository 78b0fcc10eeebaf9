/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64>`, an HMAC-SHA256 of the raw body (and nothing else)
 * keyed by the app's client secret. Shopify's newer lowercase headers without `X-`
 * (`shopify-hmac-sha256`, …) are accepted too. Key: the webhook id, a header the signature does not
 * cover, so the key is bound to the body's hash. Streams route by topic, not signed either.
 */
import { fromBase64 } from "../lib/crypto.ts";
import { firstHeader, malformed, requireHeader, type WebhookProvider } from "./provider.ts";

export const shopify: WebhookProvider<"shopify"> = {
  readSignature(headers) {
    const header = requireHeader(headers, "x-shopify-hmac-sha256", "shopify-hmac-sha256");
    const signature = fromBase64(header.trim());
    if (signature?.length !== 32) throw malformed("X-Shopify-Hmac-Sha256 must be a base64 HMAC-SHA256");
    return { given: [signature], algorithm: "sha256", signed: (body) => body };
  },

  classify(delivery) {
    const key = firstHeader(delivery.headers, "x-shopify-webhook-id", "shopify-webhook-id", "x-shopify-event-id", "shopify-event-id");
    return { key, keySigned: key === undefined, route: firstHeader(delivery.headers, "x-shopify-topic", "shopify-topic") };
  },
};
