/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex>`, an HMAC-SHA256 of the raw body. Key: the
 * `X-GitHub-Delivery` GUID (the same on redelivery). Streams route by `X-GitHub-Event`. The
 * `ping` sent when a hook is created is answered 200 and not loaded.
 */
import { fromHex, hmac } from "../lib/crypto.ts";
import { firstHeader, malformed, requireHeader, verifyAny, type WebhookProvider } from "./provider.ts";

export const github: WebhookProvider<"github"> = {
  async verify(delivery, _source, secrets) {
    const header = requireHeader(delivery.headers, "x-hub-signature-256").trim();
    if (!header.startsWith("sha256=")) throw malformed('X-Hub-Signature-256 must be "sha256=<hex>"');
    const signature = fromHex(header.slice("sha256=".length));
    if (signature?.length !== 32) throw malformed('X-Hub-Signature-256 must be "sha256=<hex>"');
    await verifyAny([signature], secrets, (secret) => hmac("sha256", secret, delivery.body));
  },

  classify(delivery, payload) {
    const event = firstHeader(delivery.headers, "x-github-event");
    if (event === "ping") {
      const hookId = (payload as { hook_id?: unknown } | null)?.hook_id;
      return { reply: { ok: true, event: "ping", hook_id: hookId ?? null } };
    }
    return { key: firstHeader(delivery.headers, "x-github-delivery"), route: event };
  },
};
