/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, each v1 an HMAC-SHA256 of
 * `"<t>.<raw body>"` keyed by the whole endpoint secret (`whsec_…` included). Any v1 may match
 * (Stripe sends one per active secret while you roll it). Key: the event `id`, inside the signed
 * body. Streams route by the object type of `data.object` (charge, customer, invoice, …), also
 * signed.
 */
import { type Bytes, concatBytes, fromHex } from "../lib/crypto.ts";
import { checkTimestamp, field, malformed, requireHeader, type WebhookProvider } from "./provider.ts";

export const stripe: WebhookProvider<"stripe"> = {
  readSignature(headers, source, now) {
    const header = requireHeader(headers, "stripe-signature");
    let timestamp: string | undefined;
    const given: Bytes[] = [];
    for (const part of header.split(",")) {
      const at = part.indexOf("=");
      const [name, value] = [part.slice(0, at).trim(), part.slice(at + 1).trim()];
      if (name === "t") timestamp = value;
      else if (name === "v1") {
        const bytes = fromHex(value);
        if (bytes?.length === 32) given.push(bytes);
      }
    }
    if (timestamp === undefined) throw malformed("Stripe-Signature has no t=");
    if (given.length === 0) throw malformed("Stripe-Signature has no v1= signature");
    const t = checkTimestamp(timestamp, now, source.toleranceSeconds);
    return { given, algorithm: "sha256", signed: (body) => concatBytes(`${t}.`, body) };
  },

  classify(_delivery, payload) {
    return { key: field(payload, "id"), keySigned: true, route: field(payload, "data", "object", "object") };
  },
};
