/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex>`, an HMAC-SHA256 of the raw body, and of nothing
 * else. Key: the `X-GitHub-Delivery` GUID (the same on redelivery), which the signature does not
 * cover, so the key is bound to the body's hash. Streams route by `X-GitHub-Event`, not signed
 * either. The `ping` sent when a hook is created is answered 200 and not loaded.
 */
import { fromHex } from "../lib/crypto.ts";
import { firstHeader, malformed, requireHeader, type WebhookProvider } from "./provider.ts";

export const github: WebhookProvider<"github"> = {
  readSignature(headers) {
    const header = requireHeader(headers, "x-hub-signature-256").trim();
    if (!header.startsWith("sha256=")) throw malformed('X-Hub-Signature-256 must be "sha256=<hex>"');
    const signature = fromHex(header.slice("sha256=".length));
    if (signature?.length !== 32) throw malformed('X-Hub-Signature-256 must be "sha256=<hex>"');
    return { given: [signature], algorithm: "sha256", signed: (body) => body };
  },

  classify(delivery, payload) {
    const event = firstHeader(delivery.headers, "x-github-event");
    if (event === "ping") {
      const hookId = (payload as { hook_id?: unknown } | null)?.hook_id;
      return { reply: { ok: true, event: "ping", hook_id: hookId ?? null } };
    }
    const key = firstHeader(delivery.headers, "x-github-delivery");
    return { key, keySigned: key === undefined, route: event };
  },
};
