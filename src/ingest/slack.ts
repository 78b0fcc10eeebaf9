/**
 * Slack: `X-Slack-Signature: v0=<hex>`, an HMAC-SHA256 of `"v0:<X-Slack-Request-Timestamp>:<body>"`
 * keyed by the app's signing secret, within a 300 s window. The `url_verification` handshake is
 * answered with its challenge. Key: `event_id` (the same on Slack's retries), inside the signed
 * body. Streams route by the inner event's type (`message`, `reaction_added`, …), also signed.
 */
import { concatBytes, fromHex } from "../lib/crypto.ts";
import { checkTimestamp, field, malformed, requireHeader, type WebhookProvider } from "./provider.ts";

export const slack: WebhookProvider<"slack"> = {
  readSignature(headers, source, now) {
    const header = requireHeader(headers, "x-slack-signature").trim();
    const timestamp = requireHeader(headers, "x-slack-request-timestamp");
    if (!header.startsWith("v0=")) throw malformed('X-Slack-Signature must be "v0=<hex>"');
    const signature = fromHex(header.slice(3));
    if (signature?.length !== 32) throw malformed('X-Slack-Signature must be "v0=<hex>"');
    const t = checkTimestamp(timestamp, now, source.toleranceSeconds);
    return { given: [signature], algorithm: "sha256", signed: (body) => concatBytes(`v0:${t}:`, body) };
  },

  classify(_delivery, payload) {
    if (field(payload, "type") === "url_verification") {
      return { reply: { challenge: field(payload, "challenge") ?? "" } };
    }
    return { key: field(payload, "event_id"), keySigned: true, route: field(payload, "event", "type") ?? field(payload, "type") };
  },
};
