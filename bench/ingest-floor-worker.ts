/**
 * The ingest benchmark's floor: a Worker that does what any signed webhook intake must, and
 * nothing else. In: a Stripe delivery (`POST /v1/webhooks/stripe`, `Stripe-Signature: t=…,v1=…`).
 * Out: 202 after it has read the body, checked the timestamp, verified one HMAC-SHA256 of
 * `"<t>.<body>"` (the key imported once per isolate, compared in constant time), counted the
 * delivery against `WEBHOOK_LIMITER` (the same binding and limit as Sluice's under the
 * benchmark) and sent one message to its queue. What Sluice adds beyond it (routing, parsing and
 * classifying the event, the body hash, the claim-check size test, request ids, security
 * headers, counts) is the ratio the benchmark reports.
 *
 * The message is a record message as Sluice's loader reads it, with the raw body spliced in as
 * the payload (no parse), keyed by the signature; the queue is consumed by Sluice's own queue
 * handler, so the floor's records are loaded while it is measured, exactly as Sluice's are.
 */
import sluice from "../src/index.ts";
import { concatBytes, equalDigests, fromHex } from "../src/lib/crypto.ts";

interface FloorEnv {
  INGEST: Queue;
  WEBHOOK_LIMITER: RateLimit;
  STRIPE_WEBHOOK_SECRET: string;
}

const toleranceSeconds = 300;
const decoder = new TextDecoder();
let hmacKey: Promise<CryptoKey> | undefined;

function keyFor(secret: string): Promise<CryptoKey> {
  hmacKey ??= crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hmacKey;
}

const refuse = (status: number, message: string) => new Response(message, { status });

async function intake(request: Request, env: FloorEnv): Promise<Response> {
  const header = request.headers.get("stripe-signature") ?? "";
  let t: string | undefined;
  let v1: string | undefined;
  for (const part of header.split(",")) {
    if (part.startsWith("t=")) t = part.slice(2);
    else if (part.startsWith("v1=")) v1 = part.slice(3);
  }
  const given = v1 === undefined ? undefined : fromHex(v1);
  if (t === undefined || given === undefined) return refuse(401, "malformed signature");
  if (Math.abs(Date.now() / 1000 - Number(t)) > toleranceSeconds) return refuse(401, "stale timestamp");
  const body = new Uint8Array(await request.arrayBuffer());
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", await keyFor(env.STRIPE_WEBHOOK_SECRET), concatBytes(`${t}.`, body)));
  if (!equalDigests(given, expected)) return refuse(401, "bad signature");
  if (!(await env.WEBHOOK_LIMITER.limit({ key: "stripe" })).success) return refuse(429, "rate limited");
  const envelope = `{"v":1,"kind":"record","source":"stripe","stream":"charges","key":"${v1}","receivedAt":"${new Date().toISOString()}","deliveryId":"${crypto.randomUUID()}","payload":`;
  await env.INGEST.send(`${envelope}${decoder.decode(body)}}`, { contentType: "text" });
  return new Response('{"accepted":1}', { status: 202, headers: { "content-type": "application/json" } });
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/ready") return new Response("ok");
    if (request.method === "POST" && pathname === "/v1/webhooks/stripe") return intake(request, env);
    return refuse(404, "not found");
  },
  // Its bindings are the ones Sluice's loader uses (DB, RAW, INGEST); the rest it never touches.
  queue: (batch, env) => sluice.queue(batch, env as unknown as Env),
} satisfies ExportedHandler<FloorEnv>;
