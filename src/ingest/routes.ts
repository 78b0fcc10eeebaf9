/**
 * Webhook intake: `POST /v1/webhooks/:source`. In: a provider's signed HTTP delivery. Out: one
 * record message on `INGEST` and a 202, or an error body and nothing enqueued. This is the hot
 * path: verify, parse, enqueue, answer. It makes no D1 query; loading is the consumer's job.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { WebhookSource } from "../config/schema.ts";
import type { AppEnv } from "../env.ts";
import { type Bytes, sha256Hex } from "../lib/crypto.ts";
import { SluiceError, toSluiceError } from "../lib/errors.ts";
import { assertNotBlocked, authFailure, enforceLimit } from "../lib/rate-limit.ts";
import { type CountKey, countDelivery, scheduleFlush } from "./counts.ts";
import { enqueueRecord } from "./enqueue.ts";
import { classifyDelivery, verifyDelivery } from "./providers.ts";
import { routeToStream } from "./streams.ts";

export const webhookRoutes = new Hono<AppEnv>();

const maxKeyLength = 512;

webhookRoutes.on(
  ["POST"],
  "/v1/webhooks/:source",
  async (c, next) => {
    const source = sourceNamed(c, c.req.param("source"));
    const maxSize = c.var.runtime.config.limits.maxBodyBytes;
    c.set("source", source);
    return bodyLimit({
      maxSize,
      onError: () => {
        throw rejected(c, c.req.param("source"), new SluiceError("payload_too_large", `body exceeds the ${maxSize}-byte limit`));
      },
    })(c, next);
  },
  async (c) => {
    const { runtime, requestId } = c.var;
    const sourceName = c.req.param("source");
    try {
      const source = c.var.source!;
      const secrets = source.secrets.flatMap((name) => runtime.settings.secrets[name] ?? []);
      if (secrets.length === 0) {
        runtime.log.error("webhook.unconfigured", { source: sourceName, env: source.secrets });
        throw new SluiceError("source_not_configured", `source "${sourceName}" has no signing secret configured`);
      }

      // An address that keeps failing verification is refused before any more are tried.
      assertNotBlocked(c.req.raw.headers);
      const delivery = { headers: c.req.raw.headers, body: new Uint8Array(await c.req.arrayBuffer()) as Bytes, now: Date.now() };
      await verifyDelivery(delivery, source, secrets);
      // Only authentic deliveries spend the source's budget, so forged junk cannot crowd out a
      // provider (forgeries count against their sender's address instead).
      await enforceLimit(runtime, "WEBHOOK_LIMITER", sourceName, `too many deliveries to source "${sourceName}"`);
      const payload = parseJson(delivery.body);
      const classified = classifyDelivery(delivery, payload, source);
      if (classified.reply) {
        runtime.log.info("webhook.handshake", { source: sourceName, requestId });
        count(c, { source: sourceName, outcome: "handshake" });
        return c.json(classified.reply, 200);
      }

      if (classified.key !== undefined && classified.key.length > maxKeyLength) {
        throw new SluiceError("bad_request", `the event id is longer than ${maxKeyLength} characters`);
      }
      const key = classified.key ?? (await sha256Hex(delivery.body));
      const stream = routeToStream(source, classified.route);
      const message = await enqueueRecord(runtime, {
        source: sourceName,
        stream,
        key,
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
      const failure = toSluiceError(error);
      // A forged or stale signature is a failed authentication: counted against the address.
      const refused = failure.code === "bad_signature" || failure.code === "stale_timestamp" ? await authFailure(runtime, c.req.raw.headers, failure) : failure;
      throw rejected(c, sourceName, refused);
    }
  },
);

// Any other method on a webhook path: 405 for a known source, 404 for an unknown one.
webhookRoutes.all("/v1/webhooks/:source", (c) => {
  const name = c.req.param("source");
  sourceNamed(c, name);
  c.header("Allow", "POST");
  throw rejected(c, name, new SluiceError("method_not_allowed", `${c.req.method} is not allowed here; webhooks are POSTed`));
});

type Ctx = Context<AppEnv>;

function sourceNamed(c: Ctx, name: string): WebhookSource {
  const { sources } = c.var.runtime.config;
  if (!Object.hasOwn(sources, name)) {
    throw rejected(c, "(unknown)", new SluiceError("unknown_source", `no webhook source named "${name}"`));
  }
  return sources[name]!;
}

/** Logs and counts a rejection (source, reason, request id; never the body), and returns it to throw. */
function rejected(c: Ctx, source: string, error: unknown): SluiceError {
  const failure = toSluiceError(error);
  c.var.runtime.log.warn("webhook.rejected", { source, reason: failure.code, status: failure.status, requestId: c.var.requestId });
  count(c, { source, outcome: "rejected", reason: failure.code });
  return failure;
}

function count(c: Ctx, key: CountKey): void {
  countDelivery(key, Date.now());
  const flush = scheduleFlush(c.env.DB, c.var.runtime.log);
  if (flush) c.executionCtx.waitUntil(flush);
}

function parseJson(body: Bytes): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new SluiceError("invalid_json", "body is not valid JSON");
  }
}
