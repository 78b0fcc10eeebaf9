/** Request builders shared by the workerd tests and the end-to-end tests (WebCrypto only). */
import { genericSecret } from "./fixtures.ts";

const encoder = new TextEncoder();

export async function hmacHex(secret: string, body: string | Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const data = typeof body === "string" ? encoder.encode(body) : body;
  const signature = await crypto.subtle.sign("HMAC", key, data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(signature), (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface GenericDelivery {
  body: string | Uint8Array;
  eventId?: string;
  secret?: string;
  headers?: Record<string, string>;
}

/** A delivery to the generic source, signed as `X-Sluice-Signature: sha256=<hex>`. */
export async function genericWebhook(baseUrl: string, delivery: GenericDelivery): Promise<Request> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-sluice-signature": `sha256=${await hmacHex(delivery.secret ?? genericSecret, delivery.body)}`,
    ...delivery.headers,
  };
  if (delivery.eventId !== undefined) headers["x-sluice-event-id"] = delivery.eventId;
  return new Request(`${baseUrl}/v1/webhooks/generic`, { method: "POST", headers, body: delivery.body as BodyInit });
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
