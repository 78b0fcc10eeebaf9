/**
 * Webhook intake: `POST /v1/webhooks/:source`. In: a provider's signed HTTP delivery. Out: one
 * record message on `INGEST` and a 202, or an error body and nothing enqueued. This is the hot
 * path: check the signature headers, read and verify the body, parse, enqueue, answer. It makes
 * no D1 query; loading is the consumer's job.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { SluiceConfig } from "../config/index.ts";
import type { WebhookSource } from "../config/schema.ts";
import type { AppEnv } from "../env.ts";
import { errors } from "../http/responses.ts";
import { createRouter, hiddenRoute } from "../http/routers.ts";
import { type Bytes, sha256Hex } from "../lib/crypto.ts";
import { SluiceError, toSluiceError } from "../lib/errors.ts";
import { authFailure, enforceLimit, type LimiterBinding } from "../lib/rate-limit.ts";
import { type CountKey, countDelivery, scheduleFlush } from "./counts.ts";
import { enqueueRecord } from "./enqueue.ts";
import { parseBody } from "./json-limits.ts";
import { verifySignature } from "./provider.ts";
import { classifyDelivery, readSignature } from "./providers.ts";
import { routeToStream } from "./streams.ts";

// Authenticated by each provider's signature, which the handler checks once it has read the body.
export const webhookRoutes = createRouter("webhook");

const maxKeyLength = 512;

/** A delivery: its body is read (within the size limit) and verified by the handler, never by a validator. */
export const receiveWebhook = createRoute({
  method: "post",
  path: "/v1/webhooks/{source}",
  summary: "Receive a signed webhook delivery",
  description:
    "Verified with the source's provider signature (Stripe, GitHub, Shopify, Slack, Standard Webhooks, or the configured generic HMAC).",
  request: {
    params: z.object({ source: z.string() }),
    body: { required: true, content: { "application/json": { schema: {} } } },
  },
  responses: {
    202: {
      description: "Accepted and queued",
      content: { "application/json": { schema: z.object({ accepted: z.literal(1), key: z.string() }) } },
    },
    200: { description: "A protocol handshake (GitHub ping, Slack URL verification)" },
    ...errors(400, 401, 404, 405, 413, 429, 503),
  },
});

/** The webhook route as `/openapi.json` shows it for a pipeline: `source` is one of its webhook sources. */
export function webhookRouteFor(route: RouteConfig, config: SluiceConfig): RouteConfig[] {
  const source = z.enum(Object.keys(config.sources) as [string, ...string[]]);
  return [{ ...route, request: { ...route.request, params: z.object({ source }) } }];
}

webhookRoutes.openapi(receiveWebhook, async (c) => {
  const { runtime, requestId } = c.var;
  const sourceName = c.req.valid("param").source;
  const { headers } = c.req.raw;
  try {
    const source = sourceNamed(c, sourceName);
    const secrets = source.secrets.flatMap((name) => runtime.settings.secrets[name] ?? []);
    if (secrets.length === 0) {
      runtime.log.error("webhook.unconfigured", { source: sourceName, env: source.secrets });
      throw new SluiceError("source_not_configured", `source "${sourceName}" has no signing secret configured`);
    }

    // Headers first: no signature, or a malformed or stale one, is refused before any of the body is read.
    const now = Date.now();
    const signature = readSignature(headers, source, now);
    const { limits } = runtime.config;
    await bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: () => {
        throw new SluiceError("payload_too_large", `body exceeds the ${limits.maxBodyBytes}-byte limit`);
      },
    })(c, async () => undefined);
    const delivery = { headers, body: new Uint8Array(await c.req.arrayBuffer()) as Bytes, now };
    // Verified whatever the address's record: forgeries sent from a provider's shared addresses
    // must not lock the provider's genuine deliveries out (see authFailure).
    await verifySignature(signature, delivery.body, secrets);
    // Only authentic deliveries spend the source's budget, so forged junk cannot crowd out a
    // provider (forgeries count against their sender's address instead).
    await enforceLimit(runtime, webhookLimiter(source), sourceName, `too many deliveries to source "${sourceName}"`);
    const payload = parseBody(delivery.body, limits);
    const classified = classifyDelivery(delivery, payload, source);
    if (classified.reply) {
      runtime.log.info("webhook.handshake", { source: sourceName, requestId });
      count(c, { source: sourceName, outcome: "handshake" });
      return c.json(classified.reply, 200);
    }

    if (classified.key !== undefined && classified.key.length > maxKeyLength) {
      throw new SluiceError("bad_request", `the event id is longer than ${maxKeyLength} characters`);
    }
    // The body's hash binds the key to the bytes the signature covers: a key from an unsigned
    // header is a re-delivery only with the same body (the loader checks).
    const bodyHash = await sha256Hex(delivery.body);
    const key = classified.key ?? bodyHash;
    const stream = routeToStream(source, classified.route);
    const message = await enqueueRecord(runtime, {
      source: sourceName,
      stream,
      key,
      keySigned: classified.key === undefined || classified.keySigned !== false,
      bodyHash,
      deliveryId: requestId,
      receivedAt: new Date(delivery.now),
      body: delivery.body,
      payload,
    });
    // Accepted deliveries are counted by the load ledger; a line each would only slow the hot path.
    runtime.log.debug("webhook.accepted", {
      source: sourceName,
      stream,
      key,
      requestId,
      bytes: delivery.body.byteLength,
      claimCheck: message.r2Key !== undefined,
    });
    count(c, { source: sourceName, stream, outcome: "accepted" });
    return c.json({ accepted: 1, key }, 202);
  } catch (error) {
    throw await refused(c, sourceName, error);
  }
});

// Any other method on a webhook path: 405 for a known source, 404 for an unknown one.
webhookRoutes.openapi(hiddenRoute("all", "/v1/webhooks/{source}"), async (c) => {
  const name = c.req.param("source");
  try {
    sourceNamed(c, name);
    c.header("Allow", "POST");
    throw new SluiceError("method_not_allowed", `${c.req.method} is not allowed here; webhooks are POSTed`);
  } catch (error) {
    throw await refused(c, name, error);
  }
});

type Ctx = Context<AppEnv>;

function sourceNamed(c: Ctx, name: string): WebhookSource {
  const { sources } = c.var.runtime.config;
  if (!Object.hasOwn(sources, name)) throw new SluiceError("unknown_source", `no webhook source named "${name}"`);
  return sources[name]!;
}

/** The limiter a source's deliveries count against: its own binding where it names one. */
function webhookLimiter(source: WebhookSource): "WEBHOOK_LIMITER" | LimiterBinding {
  return source.rateLimit ?? "WEBHOOK_LIMITER";
}

/**
 * The error to answer a refused delivery with, logged and counted (source, reason, request id;
 * never the body). A failed signature counts against the sender's address; an address already
 * blocked for failing too often is answered 429, but only once its own delivery has failed.
 */
async function refused(c: Ctx, source: string, error: unknown): Promise<SluiceError> {
  let failure = toSluiceError(error);
  if (failure.code === "bad_signature" || failure.code === "stale_timestamp")
    failure = await authFailure(c.var.runtime, c.req.raw.headers, failure);
  const name = failure.code === "unknown_source" ? "(unknown)" : source;
  c.var.runtime.log.warn("webhook.rejected", { source: name, reason: failure.code, status: failure.status, requestId: c.var.requestId });
  count(c, { source: name, outcome: "rejected", reason: failure.code });
  return failure;
}

function count(c: Ctx, key: CountKey): void {
  countDelivery(key, Date.now());
  const flush = scheduleFlush(c.env.DB, c.var.runtime.log);
  if (flush) c.executionCtx.waitUntil(flush);
}
