/**
 * Webhook intake: `POST /v1/webhooks/:source`. In: a provider's signed HTTP delivery. Out: one
 * record message on `INGEST` and a 202, or an error body and nothing enqueued. This is the hot
 * path: verify, parse, enqueue, answer. It makes no D1 query; loading is the consumer's job.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { WebhookSource } from "../config/schema.ts";
import type { AppEnv } from "../env.ts";
import { type Bytes, sha256Hex } from "../lib/crypto.ts";
import { SluiceError, toSluiceError } from "../lib/errors.ts";
import { enqueueRecord } from "./enqueue.ts";
import { classifyDelivery, verifyDelivery } from "./providers.ts";
import { routeToStream } from "./streams.ts";

export const webhookRoutes = new Hono<AppEnv>();

const maxKeyLength = 512;

webhookRoutes.on(
  ["POST"],
  "/v1/webhooks/:source",
  async (c, next) => {
    const source = sourceNamed(c.var.runtime.config.sources, c.req.param("source"));
    const maxSize = c.var.runtime.config.limits.maxBodyBytes;
    c.set("source", source);
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new SluiceError("payload_too_large", `body exceeds the ${maxSize}-byte limit`);
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

      const delivery = { headers: c.req.raw.headers, body: new Uint8Array(await c.req.arrayBuffer()) as Bytes, now: Date.now() };
      await verifyDelivery(delivery, source, secrets);
      const payload = parseJson(delivery.body);
      const classified = classifyDelivery(delivery, payload, source);
      if (classified.reply) {
        runtime.log.info("webhook.handshake", { source: sourceName, requestId });
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
      runtime.log.info("webhook.accepted", {
        source: sourceName,
        stream,
        key,
        requestId,
        bytes: delivery.body.byteLength,
        claimCheck: message.r2Key !== undefined,
      });
      return c.json({ accepted: 1, key }, 202);
    } catch (error) {
      const failure = toSluiceError(error);
      runtime.log.warn("webhook.rejected", { source: sourceName, reason: failure.code, status: failure.status, requestId });
      throw failure;
    }
  },
);

// Any other method on a webhook path: 405 for a known source, 404 for an unknown one.
webhookRoutes.all("/v1/webhooks/:source", (c) => {
  sourceNamed(c.var.runtime.config.sources, c.req.param("source"));
  c.header("Allow", "POST");
  throw new SluiceError("method_not_allowed", `${c.req.method} is not allowed here; webhooks are POSTed`);
});

function sourceNamed(sources: Record<string, WebhookSource>, name: string): WebhookSource {
  if (!Object.hasOwn(sources, name)) throw new SluiceError("unknown_source", `no webhook source named "${name}"`);
  return sources[name]!;
}

function parseJson(body: Bytes): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new SluiceError("invalid_json", "body is not valid JSON");
  }
}
