import { describe, expect, it } from "vitest";
import { webhookSourceSchema } from "../../src/config/schema.ts";
import { generic } from "../../src/ingest/generic.ts";
import { verifyDelivery } from "../../src/ingest/providers.ts";
import { routeToStream } from "../../src/ingest/streams.ts";
import { utf8 } from "../../src/lib/crypto.ts";

const bytes = (text: string) => utf8(text);

async function mac(hash: "SHA-256" | "SHA-1", secret: string, data: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", bytes(secret), { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes(data)));
}
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));

const sourceWith = (signature: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  webhookSourceSchema.parse({
    provider: "generic",
    secrets: ["S"],
    signature,
    streams: { events: {} },
    defaultStream: "events",
    ...extra,
  }) as never;

describe("generic verifier configured for other providers", () => {
  it("HMAC-SHA1 in hex with a prefix (e.g. GitHub's legacy X-Hub-Signature)", async () => {
    const body = '{"a":1}';
    const source = sourceWith({ header: "X-Hub-Signature", prefix: "sha1=", algorithm: "sha1" });
    const headers = new Headers({ "x-hub-signature": `sha1=${hex(await mac("SHA-1", "k", body))}` });
    await expect(verifyDelivery({ headers, body: bytes(body), now: Date.now() }, source, ["k"])).resolves.toBeUndefined();
    const short = new Headers({ "x-hub-signature": `sha1=${hex(await mac("SHA-256", "k", body))}` });
    await expect(verifyDelivery({ headers: short, body: bytes(body), now: Date.now() }, source, ["k"])).rejects.toMatchObject({
      code: "bad_signature",
    });
  });

  it("base64 over `{timestamp}.{body}` with a timestamp header and tolerance", async () => {
    const body = '{"b":2}';
    const now = Date.now();
    const ts = String(Math.floor(now / 1000));
    const source = sourceWith({
      header: "X-Signature",
      encoding: "base64",
      timestamp: { header: "X-Timestamp", toleranceSeconds: 60 },
      signedContent: "{timestamp}.{body}",
    });
    const headers = new Headers({ "x-signature": b64(await mac("SHA-256", "k", `${ts}.${body}`)), "x-timestamp": ts });
    await expect(verifyDelivery({ headers, body: bytes(body), now }, source, ["k"])).resolves.toBeUndefined();
    await expect(verifyDelivery({ headers, body: bytes(body), now: now + 61_000 }, source, ["k"])).rejects.toMatchObject({
      code: "stale_timestamp",
    });
    const noTimestamp = new Headers({ "x-signature": headers.get("x-signature")! });
    await expect(verifyDelivery({ headers: noTimestamp, body: bytes(body), now }, source, ["k"])).rejects.toMatchObject({
      code: "bad_signature",
      message: "missing signature header x-timestamp",
    });
  });

  it("reads the routing value from a header or a JSON path", () => {
    const headers = new Headers({ "x-event": "a.b", "x-id": "id-1" });
    const byHeader = sourceWith({ header: "x-sig" }, { route: { header: "X-Event" }, keyHeader: "X-Id" });
    expect(generic.classify({ headers, body: bytes(""), now: 0 }, {}, byHeader)).toEqual({ key: "id-1", keySigned: false, route: "a.b" });
    const byPath = sourceWith({ header: "x-sig" }, { route: { path: "meta.kind" } });
    expect(generic.classify({ headers, body: bytes(""), now: 0 }, { meta: { kind: "k" } }, byPath)).toEqual({
      key: undefined,
      keySigned: true,
      route: "k",
    });
  });

  it("signs the event id with `{id}` in signedContent: the key is then covered by the signature", async () => {
    const body = '{"seq":41}';
    const ts = String(Math.floor(Date.now() / 1000));
    const source = sourceWith(
      { header: "X-Signature", timestamp: { header: "X-Timestamp" }, signedContent: "{id}.{timestamp}.{body}" },
      { keyHeader: "X-Event-Id" },
    );
    const signature = hex(await mac("SHA-256", "k", `evt_41.${ts}.${body}`));
    const headers = new Headers({ "x-signature": signature, "x-timestamp": ts, "x-event-id": "evt_41" });
    await expect(verifyDelivery({ headers, body: bytes(body), now: Date.now() }, source, ["k"])).resolves.toBeUndefined();
    expect(generic.classify({ headers, body: bytes(body), now: 0 }, JSON.parse(body), source)).toMatchObject({
      key: "evt_41",
      keySigned: true,
    });

    // The captured delivery replayed under the id of a later event: refused.
    const replayed = new Headers({ "x-signature": signature, "x-timestamp": ts, "x-event-id": "evt_42" });
    await expect(verifyDelivery({ headers: replayed, body: bytes(body), now: Date.now() }, source, ["k"])).rejects.toMatchObject({
      code: "bad_signature",
      message: "signature does not match",
    });
    const missing = new Headers({ "x-signature": signature, "x-timestamp": ts });
    await expect(verifyDelivery({ headers: missing, body: bytes(body), now: Date.now() }, source, ["k"])).rejects.toMatchObject({
      code: "bad_signature",
      message: "missing signature header x-event-id",
    });
  });

  it("substitutes each placeholder once: an id that looks like a placeholder is signed as the text it is", async () => {
    const body = '{"a":1}';
    const source = sourceWith({ header: "X-Signature", signedContent: "{id}:{body}" }, { keyHeader: "X-Event-Id" });
    const headers = new Headers({ "x-signature": hex(await mac("SHA-256", "k", `{body}:${body}`)), "x-event-id": "{body}" });
    await expect(verifyDelivery({ headers, body: bytes(body), now: Date.now() }, source, ["k"])).resolves.toBeUndefined();
  });

  it("leaves a key from an id header outside signedContent unsigned", () => {
    const source = sourceWith({ header: "x-sig" }, { keyHeader: "X-Id" });
    const headers = new Headers({ "x-id": "id-1" });
    expect(generic.classify({ headers, body: bytes("{}"), now: 0 }, {}, source)).toMatchObject({ key: "id-1", keySigned: false });
  });

  it("rejects a signedContent template with {id} but no keyHeader at config time", () => {
    expect(() => sourceWith({ header: "x", signedContent: "{id}.{body}" })).toThrow(/signedContent uses \{id\}, so declare keyHeader/);
  });

  it("rejects a signedContent template without {body} at config time", () => {
    expect(() => sourceWith({ header: "x", signedContent: "{timestamp}" })).toThrow(/signedContent must include \{body\}/);
  });
});

describe("stream routing", () => {
  const source = webhookSourceSchema.parse({
    provider: "shopify",
    secrets: ["S"],
    streams: { orders: { match: ["orders/*"] }, refunds: { match: ["refunds/create", "orders/refunded"] }, events: {} },
    defaultStream: "events",
  });

  it("routes by glob, first declared stream first, and everything else to the catch-all", () => {
    expect(routeToStream(source, "orders/create")).toBe("orders");
    expect(routeToStream(source, "orders/refunded")).toBe("orders");
    expect(routeToStream(source, "refunds/create")).toBe("refunds");
    expect(routeToStream(source, "ordersXcreate")).toBe("events");
    expect(routeToStream(source, "app/uninstalled")).toBe("events");
    expect(routeToStream(source, undefined)).toBe("events");
  });

  it("treats regex characters in patterns literally", () => {
    const dotted = webhookSourceSchema.parse({
      provider: "stripe",
      secrets: ["S"],
      streams: { a: { match: ["charge.succeeded"] }, events: {} },
      defaultStream: "events",
    });
    expect(routeToStream(dotted, "chargeXsucceeded")).toBe("events");
    expect(routeToStream(dotted, "charge.succeeded")).toBe("a");
  });
});
