/**
 * Signs deliveries the way each provider does, with WebCrypto only, so the same helpers run in
 * workerd tests and in Node. The providers' own SDKs are used as well, in the Node and e2e tests.
 */
import { secrets } from "./fixtures.ts";

const encoder = new TextEncoder();
export type Body = string | Uint8Array;

const bytesOf = (body: Body) => (typeof body === "string" ? encoder.encode(body) : body);

async function hmac(key: string | Uint8Array, ...parts: Body[]): Promise<Uint8Array> {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const cryptoKey = await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const chunks = parts.map(bytesOf);
  const data = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, data));
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
export const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface SignOptions {
  secret?: string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  id?: string;
  event?: string;
}

export type Provider = keyof typeof secrets;

/** Headers a provider would send with `body`. */
export const signers: Record<Provider, (body: Body, options?: SignOptions) => Promise<Record<string, string>>> = {
  async stripe(body, { secret = secrets.stripe, timestamp = nowSeconds() } = {}) {
    return { "stripe-signature": `t=${timestamp},v1=${hex(await hmac(secret, `${timestamp}.`, body))}` };
  },
  async github(body, { secret = secrets.github, id = crypto.randomUUID(), event = "push" } = {}) {
    return {
      "x-hub-signature-256": `sha256=${hex(await hmac(secret, body))}`,
      "x-github-delivery": id,
      "x-github-event": event,
    };
  },
  async shopify(body, { secret = secrets.shopify, id = crypto.randomUUID(), event = "orders/create" } = {}) {
    return {
      "x-shopify-hmac-sha256": base64(await hmac(secret, body)),
      "x-shopify-webhook-id": id,
      "x-shopify-topic": event,
    };
  },
  async slack(body, { secret = secrets.slack, timestamp = nowSeconds() } = {}) {
    return {
      "x-slack-signature": `v0=${hex(await hmac(secret, `v0:${timestamp}:`, body))}`,
      "x-slack-request-timestamp": String(timestamp),
    };
  },
  async standard(body, { secret = secrets.standard, timestamp = nowSeconds(), id = `msg_${crypto.randomUUID()}` } = {}) {
    const key = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
    return {
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": `v1,${base64(await hmac(key, `${id}.${timestamp}.`, body))}`,
    };
  },
  async generic(body, { secret = secrets.generic, id } = {}) {
    return { "x-sluice-signature": `sha256=${hex(await hmac(secret, body))}`, ...(id ? { "x-sluice-event-id": id } : {}) };
  },
};

/** A signed POST to /v1/webhooks/<provider> (the example pipeline names sources after providers). */
export async function signedRequest(baseUrl: string, provider: Provider, body: Body, options?: SignOptions): Promise<Request> {
  const headers = { "content-type": "application/json", ...(await signers[provider](body, options)) };
  return new Request(`${baseUrl}/v1/webhooks/${provider}`, { method: "POST", headers, body: body as BodyInit });
}
