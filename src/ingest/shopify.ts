/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64>`, an HMAC-SHA256 of the raw body keyed by the app's
 * client secret. Shopify's newer lowercase headers without `X-` (`shopify-hmac-sha256`, …) are
 * accepted too. Key: the webhook id. Streams route by topic (`orders/create`).
 */
import { fromBase64, hmac } from "../lib/crypto.ts";
import { firstHeader, malformed, requireHeader, verifyAny, type WebhookProvider } from "./provider.ts";

export const shopify: WebhookProvider<"shopify"> = {
  async verify(delivery, _source, secrets) {
    const header = requireHeader(delivery.headers, "x-shopify-hmac-sha256", "shopify-hmac-sha256");
    const signature = fromBase64(header.trim());
    if (signature?.length !== 32) throw malformed("X-Shopify-Hmac-Sha256 must be a base64 HMAC-SHA256");
    await verifyAny([signature], secrets, (secret) => hmac("sha256", secret, delivery.body));
  },

  classify(delivery) {
    return {
      key: firstHeader(delivery.headers, "x-shopify-webhook-id", "shopify-webhook-id", "x-shopify-event-id", "shopify-event-id"),
      route: firstHeader(delivery.headers, "x-shopify-topic", "shopify-topic"),
    };
  },
};
