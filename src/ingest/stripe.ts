/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, each v1 an HMAC-SHA256 of
 * `"<t>.<raw body>"` keyed by the whole endpoint secret (`whsec_…` included). Any v1 may match
 * (Stripe sends one per active secret while you roll it). Key: the event `id`. Streams route by
 * the object type of `data.object` (charge, customer, invoice, …).
 */
import { concatBytes, fromHex, hmac } from "../lib/crypto.ts";
import { checkTimestamp, field, malformed, requireHeader, verifyAny, type WebhookProvider } from "./provider.ts";

export const stripe: WebhookProvider<"stripe"> = {
  async verify(delivery, source, secrets) {
    const header = requireHeader(delivery.headers, "stripe-signature");
    let timestamp: string | undefined;
    const signatures = [];
    for (const part of header.split(",")) {
      const at = part.indexOf("=");
      const [name, value] = [part.slice(0, at).trim(), part.slice(at + 1).trim()];
      if (name === "t") timestamp = value;
      else if (name === "v1") {
        const bytes = fromHex(value);
        if (bytes?.length === 32) signatures.push(bytes);
      }
    }
    if (timestamp === undefined) throw malformed("Stripe-Signature has no t=");
    if (signatures.length === 0) throw malformed("Stripe-Signature has no v1= signature");
    const t = checkTimestamp(timestamp, delivery.now, source.toleranceSeconds);
    const signed = concatBytes(`${t}.`, delivery.body);
    await verifyAny(signatures, secrets, (secret) => hmac("sha256", secret, signed));
  },

  classify(_delivery, payload) {
    return { key: field(payload, "id"), route: field(payload, "data", "object", "object") };
  },
};
