/**
 * Webhook intake: `POST /v1/webhooks/:source`. In: a provider's signed HTTP delivery. Out: one
 * record message on `INGEST` and a 202, or an error body and nothing enqueued. This is the hot
 * path: it verifies, parses and enqueues, and leaves all loading to the queue consumer.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";
import { enqueueRecord } from "./enqueue.ts";
import { verifyHmacSignature } from "./verify-hmac.ts";

export const webhookRoutes = new Hono<AppEnv>();

webhookRoutes.post(
  "/v1/webhooks/:source",
  async (c, next) => {
    const { config } = c.var.runtime;
    const name = c.req.param("source");
    if (!Object.hasOwn(config.sources, name)) {
      throw new SluiceError("unknown_source", `no webhook source named "${name}"`);
    }
    const maxSize = config.limits.maxBodyBytes;
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new SluiceError("payload_too_large", `body exceeds the ${maxSize}-byte limit`);
      },
    })(c, next);
  },
  async (c) => {
    const runtime = c.var.runtime;
    const sourceName = c.req.param("source");
    const source = runtime.config.sources[sourceName]!;
    const secrets = source.secrets.flatMap((name) => runtime.settings.secrets[name] ?? []);
    if (secrets.length === 0) {
      runtime.log.error("webhook.unconfigured", { source: sourceName, env: source.secrets });
      throw new SluiceError("source_not_configured", `source "${sourceName}" has no signing secret configured`);
    }

    const body = new Uint8Array(await c.req.arrayBuffer());
    await verifyHmacSignature(source.verifier, c.req.raw.headers, body, secrets);

    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
    } catch {
      throw new SluiceError("invalid_json", "body is not valid JSON");
    }

    const headerKey = source.keyHeader ? c.req.header(source.keyHeader)?.trim() : undefined;
    if (headerKey !== undefined && headerKey.length > 512) {
      throw new SluiceError("bad_request", `${source.keyHeader} is longer than 512 characters`);
    }
    const key = headerKey || (await sha256Hex(body));
    const message = await enqueueRecord(runtime, {
      source: sourceName,
      stream: source.defaultStream,
      key,
      deliveryId: c.var.requestId,
      receivedAt: new Date(),
      body,
      payload,
    });
    runtime.log.info("webhook.accepted", {
      source: sourceName,
      stream: message.stream,
      key,
      bytes: body.byteLength,
      claimCheck: message.r2Key !== undefined,
    });
    return c.json({ accepted: 1, key }, 202);
  },
);
