import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { scheduleFlush } from "../../src/ingest/counts.ts";
import { createLogger } from "../../src/lib/log.ts";
import { gunzip } from "../../src/load/raw-zone.ts";
import type { RecordMessage } from "../../src/messages.ts";
import { genericSecret } from "../support/fixtures.ts";
import { genericWebhook, hmacHex, sha256Hex } from "../support/http.ts";
import { deliver } from "../support/queue.ts";
import { call, handler, origin, recordingQueue, type Sent } from "../support/worker.ts";

let ingest: { queue: Queue; sent: Sent[] };
const post = (request: Request, overrides: Partial<Env> = {}) => call(request, { INGEST: ingest.queue, ...overrides });

beforeEach(() => {
  ingest = recordingQueue(env.INGEST);
});

describe("POST /v1/webhooks/generic: happy", () => {
  it("accepts a signed JSON event, answers 202 and enqueues the envelope", async () => {
    const body = JSON.stringify({ type: "order.created", id: 42 });
    const response = await post(await genericWebhook(origin, { body, eventId: "evt_1" }));

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, key: "evt_1" });
    expect(ingest.sent).toHaveLength(1);
    const message = ingest.sent[0]!.body as RecordMessage;
    expect(message).toMatchObject({
      v: 1,
      kind: "record",
      source: "generic",
      stream: "events",
      key: "evt_1",
      payload: { type: "order.created", id: 42 },
    });
    expect(message.deliveryId).toBe(response.headers.get("x-request-id"));
    expect(Date.parse(message.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("keys an event without X-Sluice-Event-Id by the SHA-256 of its body", async () => {
    const body = JSON.stringify({ hello: "world" });
    const response = await post(await genericWebhook(origin, { body }));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, key: await sha256Hex(body) });
  });

  it("accepts every secret of a rotated list", async () => {
    for (const secret of ["test-generic-secret-old", "test-generic-secret"]) {
      const response = await post(await genericWebhook(origin, { body: "{}", secret }));
      expect(response.status).toBe(202);
    }
    expect(ingest.sent).toHaveLength(2);
  });

  it("accepts an uppercase hex signature", async () => {
    const body = '{"a":1}';
    const signature = `sha256=${(await hmacHex(genericSecret, body)).toUpperCase()}`;
    const response = await post(
      new Request(`${origin}/v1/webhooks/generic`, { method: "POST", headers: { "x-sluice-signature": signature }, body }),
    );
    expect(response.status).toBe(202);
  });

  it("claim-checks a body over 100 KB: the payload goes to R2 and the message carries its key", async () => {
    const body = JSON.stringify({ type: "big", blob: "x".repeat(150 * 1024) });
    const response = await post(await genericWebhook(origin, { body, eventId: "evt_big" }));
    expect(response.status).toBe(202);

    const message = ingest.sent[0]!.body as RecordMessage;
    expect(message.payload).toBeUndefined();
    expect(message.r2Key).toMatch(/^claims\/generic\/events\/dt=\d{4}-\d{2}-\d{2}\/req_[0-9a-z]{26}\.json$/);
    const stored = await env.RAW.get(message.r2Key!);
    expect(await stored!.text()).toBe(body);
  });
  it("claim-checks by the size of the message sent: a 60 KB body of numbers that re-serialise 4x larger goes to R2", async () => {
    // `1e20` is 4 characters in the body and 21 in the message: inline, the message would be ~250 KB.
    const body = `[${Array.from({ length: 12_000 }, () => "1e20").join(",")}]`;
    expect(body.length).toBeLessThan(100 * 1024);
    const response = await post(await genericWebhook(origin, { body, eventId: "evt_inflating" }));
    expect(response.status).toBe(202);
    const [sent] = ingest.sent;
    expect(sent!.contentType).toBe("text");
    expect(new TextEncoder().encode(sent!.text).byteLength).toBeLessThan(100 * 1024);
    const message = sent!.body as RecordMessage;
    expect(message.payload).toBeUndefined();
    expect(await (await env.RAW.get(message.r2Key!))!.text()).toBe(body);
  });

  it("sends the envelope as JSON text, inline while the message is within the threshold", async () => {
    const body = JSON.stringify({ type: "small", n: 1 });
    expect((await post(await genericWebhook(origin, { body, eventId: "evt_text" }))).status).toBe(202);
    const [sent] = ingest.sent;
    expect(sent!.contentType).toBe("text");
    expect(JSON.parse(sent!.text)).toMatchObject({ key: "evt_text", payload: { type: "small", n: 1 } });
  });

  it("binds a key from an unsigned header to the body: the envelope and the raw-zone line carry the body's SHA-256", async () => {
    const body = JSON.stringify({ type: "bound", n: 1 });
    expect((await post(await genericWebhook(origin, { body, eventId: "evt_bound" }))).status).toBe(202);
    const message = ingest.sent[0]!.body as RecordMessage;
    const bodyHash = await sha256Hex(body);
    expect(message).toMatchObject({ key: "evt_bound", keySigned: false, bodyHash });

    // Through the loader: the raw-zone line keeps both.
    const result = await deliver([{ id: "bound-1", timestamp: new Date(), attempts: 1, body: ingest.sent[0]!.text }]);
    expect(result.explicitAcks).toEqual(["bound-1"]);
    const row = await env.DB.prepare(
      "SELECT _sluice_source_object AS object FROM raw_generic__events WHERE _sluice_key = 'evt_bound'",
    ).first<{ object: string }>();
    const lines = (await gunzip(await (await env.RAW.get(row!.object))!.arrayBuffer()))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.find((line) => line.key === "evt_bound")).toMatchObject({ bodyHash, keySigned: false });
  });

  it("keys a body without an event id by its SHA-256, which the signature covers", async () => {
    const body = JSON.stringify({ type: "hash-keyed" });
    expect((await post(await genericWebhook(origin, { body }))).status).toBe(202);
    const bodyHash = await sha256Hex(body);
    expect(ingest.sent[0]!.body).toMatchObject({ key: bodyHash, bodyHash, keySigned: true });
  });
});

describe("POST /v1/webhooks/:source: bad input", () => {
  const expectError = async (response: Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.error.requestId).toBe(response.headers.get("x-request-id"));
    expect(ingest.sent).toHaveLength(0);
    return body.error;
  };

  it("rejects a missing signature with 401 bad_signature", async () => {
    const request = new Request(`${origin}/v1/webhooks/generic`, { method: "POST", body: "{}" });
    const error = await expectError(await post(request), 401, "bad_signature");
    expect(error.message).toBe("missing signature header x-sluice-signature");
  });

  it.each([
    ["no prefix", (hex: string) => hex],
    ["wrong prefix", (hex: string) => `sha1=${hex}`],
    ["not hex", () => "sha256=zz"],
    ["truncated", (hex: string) => `sha256=${hex.slice(0, 40)}`],
    ["empty", () => ""],
  ])("rejects a malformed signature (%s) with 401 bad_signature", async (_, mangle) => {
    const body = "{}";
    const request = new Request(`${origin}/v1/webhooks/generic`, {
      method: "POST",
      headers: { "x-sluice-signature": mangle(await hmacHex(genericSecret, body)) },
      body,
    });
    await expectError(await post(request), 401, "bad_signature");
  });

  it("rejects a signature made with the wrong secret with 401 bad_signature", async () => {
    const request = await genericWebhook(origin, { body: "{}", secret: "not-the-secret" });
    const error = await expectError(await post(request), 401, "bad_signature");
    expect(error.message).toBe("signature does not match");
  });

  it("rejects a body changed after signing with 401 bad_signature", async () => {
    const signed = await genericWebhook(origin, { body: '{"amount":1}' });
    const tampered = new Request(signed, { body: '{"amount":9}' });
    await expectError(await post(tampered), 401, "bad_signature");
  });

  it("answers an unknown source with 404 unknown_source", async () => {
    const request = new Request(`${origin}/v1/webhooks/nosuch`, { method: "POST", body: "{}" });
    const error = await expectError(await post(request), 404, "unknown_source");
    expect(error.message).toBe('no webhook source named "nosuch"');
  });

  it("rejects a body over the 10 MiB default limit with 413 payload_too_large", async () => {
    const body = JSON.stringify({ blob: "x".repeat(10 * 1024 * 1024) });
    const error = await expectError(await post(await genericWebhook(origin, { body })), 413, "payload_too_large");
    expect(error.message).toBe("body exceeds the 10485760-byte limit");
  });

  it("accepts a 2 MiB body (claim-checked) under the limit", async () => {
    const body = JSON.stringify({ blob: "x".repeat(2 * 1024 * 1024) });
    const response = await post(await genericWebhook(origin, { body }));
    expect(response.status).toBe(202);
    expect((ingest.sent[0]!.body as RecordMessage).r2Key).toBeDefined();
  });

  it("rejects an oversized chunked body (no Content-Length) with 413", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 161; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    // A well-formed signature header: one that is missing or malformed is refused before the body is read.
    const request = new Request(`${origin}/v1/webhooks/generic`, {
      method: "POST",
      headers: { "x-sluice-signature": `sha256=${"0".repeat(64)}` },
      body: stream,
      // @ts-expect-error: workerd needs duplex for a streamed body
      duplex: "half",
    });
    await expectError(await post(request), 413, "payload_too_large");
  });

  it.each([
    ["plain text", "hello"],
    ["truncated JSON", '{"a":'],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])],
  ])("rejects a correctly signed body that is not JSON (%s) with 400 invalid_json", async (_, body) => {
    await expectError(await post(await genericWebhook(origin, { body })), 400, "invalid_json");
  });

  const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

  it("accepts a body nested 64 levels deep, the default limit", async () => {
    expect((await post(await genericWebhook(origin, { body: nested(64) }))).status).toBe(202);
  });

  it.each([65, 20_000])("rejects a body nested %i levels deep with 400 too_deep, naming the limit", async (depth) => {
    const error = await expectError(await post(await genericWebhook(origin, { body: nested(depth) })), 400, "too_deep");
    expect(error.message).toBe("body is nested more than 64 levels deep (limits.maxJsonDepth)");
  });

  it("rejects a deep object under a shallow array too, whatever the mix of objects and arrays", async () => {
    const body = `[1,{"a":${'{"b":'.repeat(70)}0${"}".repeat(70)}}]`;
    await expectError(await post(await genericWebhook(origin, { body })), 400, "too_deep");
  });

  it("rejects an object with more than 1,000 keys with 400 too_many_keys; 1,000 are accepted", async () => {
    const object = (keys: number) => JSON.stringify({ inner: Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])) });
    expect((await post(await genericWebhook(origin, { body: object(1000) }))).status).toBe(202);
    ingest.sent.length = 0;
    const error = await expectError(await post(await genericWebhook(origin, { body: object(1001) })), 400, "too_many_keys");
    expect(error.message).toBe("an object in the body has 1001 keys; the limit is 1000 (limits.maxObjectKeys)");
  });

  it("rejects an event id longer than 512 characters with 400 bad_request", async () => {
    const request = await genericWebhook(origin, { body: "{}", eventId: "e".repeat(513) });
    await expectError(await post(request), 400, "bad_request");
  });

  it("answers 503 source_not_configured when the source has no secret, and enqueues nothing", async () => {
    const request = await genericWebhook(origin, { body: "{}" });
    const error = await expectError(await post(request, { GENERIC_WEBHOOK_SECRET: "" }), 503, "source_not_configured");
    expect(error.message).toBe('source "generic" has no signing secret configured');
  });

  it("answers 503 queue_unavailable when the queue refuses the message, so the sender retries", async () => {
    const failing = { send: async () => Promise.reject(new Error("queue down")) } as unknown as Queue;
    const response = await call(await genericWebhook(origin, { body: "{}" }), { INGEST: failing });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("queue_unavailable");
  });

  it("answers GET on a webhook path with 405 and Allow: POST", async () => {
    const response = await post(new Request(`${origin}/v1/webhooks/generic`));
    expect(response.headers.get("allow")).toBe("POST");
    await expectError(response, 405, "method_not_allowed");
  });

  it("answers PUT on an unknown source's path with 404 unknown_source", async () => {
    await expectError(await post(new Request(`${origin}/v1/webhooks/nosuch`, { method: "PUT", body: "{}" })), 404, "unknown_source");
  });
});

describe("webhook counts", () => {
  const countsNow = async () => {
    const hour = new Date().toISOString().slice(0, 13);
    const rows = await env.DB.prepare("SELECT source, stream, outcome, reason, count FROM _sluice_webhook_counts WHERE hour = ?1")
      .bind(hour)
      .all<{ source: string; stream: string; outcome: string; reason: string; count: number }>();
    return (source: string, outcome: string, reason = "", stream = "") =>
      rows.results.find((r) => r.source === source && r.outcome === outcome && r.reason === reason && r.stream === stream)?.count ?? 0;
  };

  it("counts accepted and rejected deliveries by source, stream and reason, written after the response", async () => {
    // Let the counts of earlier tests land first.
    await scheduleFlush(env.DB, createLogger());
    const countedBefore = await countsNow();
    const ctx = createExecutionContext();
    const send = (request: Request) => handler.fetch!(request as never, { ...env, INGEST: ingest.queue }, ctx);

    expect((await send(await genericWebhook(origin, { body: '{"n":1}' }))).status).toBe(202);
    expect((await send(await genericWebhook(origin, { body: '{"n":2}' }))).status).toBe(202);
    expect((await send(await genericWebhook(origin, { body: "{}", secret: "forged" }))).status).toBe(401);
    expect((await send(new Request(`${origin}/v1/webhooks/nosuch`, { method: "POST", body: "{}" }))).status).toBe(404);
    expect((await send(new Request(`${origin}/v1/webhooks/generic`, { method: "DELETE" }))).status).toBe(405);
    await waitOnExecutionContext(ctx);

    const countedAfter = await countsNow();
    expect(countedAfter("generic", "accepted", "", "events") - countedBefore("generic", "accepted", "", "events")).toBe(2);
    expect(countedAfter("generic", "rejected", "bad_signature") - countedBefore("generic", "rejected", "bad_signature")).toBe(1);
    expect(countedAfter("(unknown)", "rejected", "unknown_source") - countedBefore("(unknown)", "rejected", "unknown_source")).toBe(1);
    expect(countedAfter("generic", "rejected", "method_not_allowed") - countedBefore("generic", "rejected", "method_not_allowed")).toBe(1);
  });
});
