import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { webhookSourceSchema } from "../../src/config/schema.ts";
import { verifyDelivery } from "../../src/ingest/providers.ts";
import { utf8 } from "../../src/lib/crypto.ts";
import type { RecordMessage } from "../../src/messages.ts";
import { secrets } from "../support/fixtures.ts";
import { sha256Hex } from "../support/http.ts";
import { nowSeconds, type Provider, signedRequest, signers } from "../support/sign.ts";
import { call, origin, recordingQueue, type Sent } from "../support/worker.ts";

const bytes = (text: string) => utf8(text);
const sourceOf = (provider: "github" | "shopify" | "standard") =>
  webhookSourceSchema.parse({ provider, secrets: ["S"], streams: { events: {} }, defaultStream: "events" });

describe("published test vectors", () => {
  it('GitHub: secret "It\'s a Secret to Everybody", body "Hello, World!"', async () => {
    const headers = new Headers({
      "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    });
    const delivery = { headers, body: bytes("Hello, World!"), now: Date.now() };
    await expect(verifyDelivery(delivery, sourceOf("github") as never, ["It's a Secret to Everybody"])).resolves.toBeUndefined();
    await expect(verifyDelivery(delivery, sourceOf("github") as never, ["It's a secret to everybody"])).rejects.toMatchObject({
      code: "bad_signature",
    });
  });

  it("Standard Webhooks: the spec's example message", async () => {
    const headers = new Headers({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
    const delivery = { headers, body: bytes('{"test": 2432232314}'), now: 1614265330 * 1000 };
    await expect(
      verifyDelivery(delivery, sourceOf("standard") as never, ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]),
    ).resolves.toBeUndefined();
    // The same message five minutes and one second later is stale.
    await expect(
      verifyDelivery({ ...delivery, now: (1614265330 + 301) * 1000 }, sourceOf("standard") as never, [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      ]),
    ).rejects.toMatchObject({ code: "stale_timestamp" });
  });

  it('Shopify: secret test_secret_key, body {"foo": "bar"}', async () => {
    const headers = new Headers({ "x-shopify-hmac-sha256": "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=" });
    const delivery = { headers, body: bytes('{"foo": "bar"}'), now: Date.now() };
    await expect(verifyDelivery(delivery, sourceOf("shopify") as never, ["test_secret_key"])).resolves.toBeUndefined();
  });
});

let ingest: { queue: Queue; sent: Sent[] };
beforeEach(() => {
  ingest = recordingQueue(env.INGEST);
});
const post = (request: Request) => call(request, { INGEST: ingest.queue });
const sent = () => ingest.sent.map((s) => s.body as RecordMessage);

interface Case {
  provider: Provider;
  /** A typical event body, and the options that sign it. */
  body: string;
  options?: { id?: string; event?: string };
  key: string;
  stream: string;
  /** An event no stream claims, to show it lands in the catch-all stream. */
  unclaimed: { body: string; options?: { event?: string } };
  timestamped: boolean;
  /** Whether the provider's signature covers the key (false: the key is an unsigned header). */
  keySigned: boolean;
}

const cases: Case[] = [
  {
    provider: "stripe",
    body: JSON.stringify({ id: "evt_1", object: "event", type: "charge.succeeded", data: { object: { id: "ch_1", object: "charge" } } }),
    key: "evt_1",
    stream: "charges",
    unclaimed: { body: JSON.stringify({ id: "evt_2", type: "payout.paid", data: { object: { object: "payout" } } }) },
    timestamped: true,
    keySigned: true,
  },
  {
    provider: "github",
    body: JSON.stringify({ ref: "refs/heads/main", after: "abc" }),
    options: { id: "72d3162e-cc78-11e3-81ab-4c9367dc0958", event: "push" },
    key: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    stream: "pushes",
    unclaimed: { body: JSON.stringify({ action: "created" }), options: { event: "star" } },
    timestamped: false,
    keySigned: false,
  },
  {
    provider: "shopify",
    body: JSON.stringify({ id: 820982911946154500, email: "jon@example.com" }),
    options: { id: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", event: "orders/create" },
    key: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    stream: "orders",
    unclaimed: { body: JSON.stringify({ id: 1 }), options: { event: "app/uninstalled" } },
    timestamped: false,
    keySigned: false,
  },
  {
    provider: "slack",
    body: JSON.stringify({ type: "event_callback", event_id: "Ev0PV52K21", event: { type: "message", text: "hi" } }),
    key: "Ev0PV52K21",
    stream: "messages",
    unclaimed: { body: JSON.stringify({ type: "event_callback", event_id: "Ev2", event: { type: "team_join" } }) },
    timestamped: true,
    keySigned: true,
  },
  {
    provider: "standard",
    body: JSON.stringify({ type: "invoice.paid", timestamp: "2026-01-01T00:00:00Z", data: { id: 1 } }),
    options: { id: "msg_2ZVfq8kVvLrJvH2t" },
    key: "msg_2ZVfq8kVvLrJvH2t",
    stream: "events",
    unclaimed: { body: JSON.stringify({ type: "anything" }) },
    timestamped: true,
    keySigned: true,
  },
  {
    provider: "generic",
    body: JSON.stringify({ type: "thing.happened" }),
    options: { id: "gen-1" },
    key: "gen-1",
    stream: "events",
    unclaimed: { body: JSON.stringify({}) },
    timestamped: false,
    keySigned: false,
  },
];

const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { code: string; message: string; requestId: string } }).error;

describe.each(cases)("$provider: happy", ({ provider, body, options, key, stream, unclaimed, keySigned }) => {
  it(`accepts a signed event, keys it by the provider's id and routes it to "${stream}"`, async () => {
    const response = await post(await signedRequest(origin, provider, body, options));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, key });
    expect(sent()).toHaveLength(1);
    expect(sent()[0]).toMatchObject({ source: provider, stream, key, payload: JSON.parse(body) });
  });

  it(`carries the SHA-256 of the raw body, and keySigned: ${keySigned} (whether the signature covers the key)`, async () => {
    const response = await post(await signedRequest(origin, provider, body, options));
    expect(response.status).toBe(202);
    expect(sent()[0]).toMatchObject({ key, bodyHash: await sha256Hex(body), keySigned });
  });

  it("accepts the previous secret of a rotated list", async () => {
    const old = (await import("../support/fixtures.ts")).testSecrets;
    const envName = Object.keys(old).find((name) => old[name as keyof typeof old].endsWith(secrets[provider]))!;
    const previous = old[envName as keyof typeof old].split(",")[0]!;
    const response = await post(await signedRequest(origin, provider, body, { ...options, secret: previous }));
    expect(response.status).toBe(202);
  });

  it("sends an event that no stream claims to the catch-all stream", async () => {
    const response = await post(await signedRequest(origin, provider, unclaimed.body, unclaimed.options));
    expect(response.status).toBe(202);
    expect(sent()[0]!.stream).toBe("events");
  });

  it("answers a redelivery with 202 and the same key", async () => {
    const first = await post(await signedRequest(origin, provider, body, options));
    const again = await post(await signedRequest(origin, provider, body, options));
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual(await first.json());
  });
});

describe.each(cases)("$provider: bad input", ({ provider, body, options }) => {
  const expectRejected = async (request: Request, status: number, code: string) => {
    const response = await post(request);
    expect(response.status).toBe(status);
    const error = await errorOf(response);
    expect(error.code).toBe(code);
    expect(error.requestId).toBe(response.headers.get("x-request-id"));
    expect(sent()).toEqual([]);
    return error;
  };
  const withHeaders = async (mutate: (headers: Record<string, string>) => void, payload: string = body) => {
    const headers = await signers[provider](payload, options);
    mutate(headers);
    return new Request(`${origin}/v1/webhooks/${provider}`, { method: "POST", headers, body: payload });
  };
  const signatureHeader = (headers: Record<string, string>) => Object.keys(headers).find((name) => /signature|hmac/.test(name))!;

  it("401 bad_signature: missing signature header", async () => {
    const error = await expectRejected(await withHeaders((h) => delete h[signatureHeader(h)]), 401, "bad_signature");
    expect(error.message).toMatch(/^missing signature header /);
  });

  it.each([
    ["missing", (headers: Record<string, string>) => delete headers[signatureHeader(headers)]],
    ["malformed", (headers: Record<string, string>) => (headers[signatureHeader(headers)] = "garbage")],
  ])("401 bad_signature: a %s signature header is refused before any of the body is read", async (_, mutate) => {
    const headers = await signers[provider](body, options);
    mutate(headers);
    let pulls = 0;
    // A large body that would fail the request if it were ever read.
    const stream = new ReadableStream<Uint8Array>(
      {
        pull() {
          pulls += 1;
          throw new Error("the body was read");
        },
      },
      { highWaterMark: 0 },
    );
    // @ts-expect-error: workerd needs duplex for a streamed body
    const request = new Request(`${origin}/v1/webhooks/${provider}`, { method: "POST", headers, body: stream, duplex: "half" });
    await expectRejected(request, 401, "bad_signature");
    expect(pulls).toBe(0);
    expect(request.bodyUsed).toBe(false);
  });

  it("401 bad_signature: malformed signature header", async () => {
    const error = await expectRejected(await withHeaders((h) => (h[signatureHeader(h)] = "garbage")), 401, "bad_signature");
    expect(error.message).toMatch(/^malformed signature header: /);
  });

  it("401 bad_signature: signed with the wrong secret", async () => {
    const secret = provider === "standard" ? "whsec_d3JvbmctYnV0LXdlbGwtZm9ybWVkLXNlY3JldA==" : "not-the-secret";
    const error = await expectRejected(await signedRequest(origin, provider, body, { ...options, secret }), 401, "bad_signature");
    expect(error.message).toBe("signature does not match");
  });

  it("401 bad_signature: body changed by one byte after signing", async () => {
    const signed = await signedRequest(origin, provider, body, options);
    const tampered = body.replace(/.$/, body.endsWith("}") ? " " : "}");
    await expectRejected(new Request(signed, { body: tampered }), 401, "bad_signature");
  });

  it("400 invalid_json: a correctly signed body that is not JSON", async () => {
    await expectRejected(await signedRequest(origin, provider, "not json at all", options), 400, "invalid_json");
  });

  it("405 method_not_allowed: GET on the webhook path", async () => {
    const response = await post(new Request(`${origin}/v1/webhooks/${provider}`));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect((await errorOf(response)).code).toBe("method_not_allowed");
  });
});

describe.each(cases.filter((c) => c.timestamped))("$provider: timestamps", ({ provider, body, options }) => {
  const expectStale = async (request: Request) => {
    const response = await post(request);
    expect(response.status).toBe(401);
    const error = await errorOf(response);
    expect(error.code).toBe("stale_timestamp");
    expect(sent()).toEqual([]);
    return error;
  };

  it("401 stale_timestamp: signed more than 300 s ago", async () => {
    const error = await expectStale(await signedRequest(origin, provider, body, { ...options, timestamp: nowSeconds() - 301 }));
    expect(error.message).toMatch(/^timestamp is 30[12] s old; the tolerance is 300 s$/);
  });

  it("401 stale_timestamp: signed more than 300 s in the future", async () => {
    const error = await expectStale(await signedRequest(origin, provider, body, { ...options, timestamp: nowSeconds() + 400 }));
    expect(error.message).toMatch(/ s in the future; the tolerance is 300 s$/);
  });

  it("accepts a timestamp just inside the window", async () => {
    const response = await post(await signedRequest(origin, provider, body, { ...options, timestamp: nowSeconds() - 250 }));
    expect(response.status).toBe(202);
  });
});

describe("protocol handshakes", () => {
  it("GitHub: answers ping with 200 and loads nothing", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 109948940 });
    const response = await post(await signedRequest(origin, "github", body, { event: "ping" }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, event: "ping", hook_id: 109948940 });
    expect(sent()).toEqual([]);
  });

  it("GitHub: a forged ping is still rejected", async () => {
    const body = JSON.stringify({ zen: "x" });
    const response = await post(await signedRequest(origin, "github", body, { event: "ping", secret: "wrong" }));
    expect(response.status).toBe(401);
  });

  it("Slack: answers url_verification with its challenge and loads nothing", async () => {
    const body = JSON.stringify({
      token: "Jhj5dZrVaK7ZwHHjRyZWjbDl",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
      type: "url_verification",
    });
    const response = await post(await signedRequest(origin, "slack", body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    expect(sent()).toEqual([]);
  });
});

describe("provider header variants", () => {
  it("Shopify: accepts the newer lowercase headers without X-", async () => {
    const body = JSON.stringify({ id: 1 });
    const signed = await signers.shopify(body, { id: "wh-lower", event: "products/update" });
    const headers = {
      "shopify-hmac-sha256": signed["x-shopify-hmac-sha256"]!,
      "shopify-webhook-id": "wh-lower",
      "shopify-topic": "products/update",
    };
    const response = await post(new Request(`${origin}/v1/webhooks/shopify`, { method: "POST", headers, body }));
    expect(response.status).toBe(202);
    expect(sent()[0]).toMatchObject({ key: "wh-lower", stream: "products" });
  });

  it("Standard Webhooks: accepts svix-* headers and a list with one valid signature", async () => {
    const body = JSON.stringify({ type: "user.created" });
    const signed = await signers.standard(body, { id: "msg_svix" });
    const headers = {
      "svix-id": "msg_svix",
      "svix-timestamp": signed["webhook-timestamp"]!,
      "svix-signature": `v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ${signed["webhook-signature"]} v1a,ignored`,
    };
    const response = await post(new Request(`${origin}/v1/webhooks/standard`, { method: "POST", headers, body }));
    expect(response.status).toBe(202);
    expect(sent()[0]).toMatchObject({ key: "msg_svix" });
  });

  it("Stripe: passes when any v1 matches (during a secret roll)", async () => {
    const body = JSON.stringify({ id: "evt_roll", data: { object: { object: "customer" } } });
    const signed = await signers.stripe(body);
    const [t, v1] = signed["stripe-signature"]!.split(",");
    const headers = { "stripe-signature": `${t},v1=${"0".repeat(64)},${v1},v0=ignored` };
    const response = await post(new Request(`${origin}/v1/webhooks/stripe`, { method: "POST", headers, body }));
    expect(response.status).toBe(202);
    expect(sent()[0]).toMatchObject({ key: "evt_roll", stream: "customers" });
  });

  it("Stripe: an event without an id is keyed by the body's SHA-256", async () => {
    const body = JSON.stringify({ type: "x" });
    const response = await post(await signedRequest(origin, "stripe", body));
    expect(((await response.json()) as { key: string }).key).toMatch(/^[0-9a-f]{64}$/);
  });
});
