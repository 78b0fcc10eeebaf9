/**
 * Deliveries signed by the providers' own SDKs verify. These run in Node, where the SDKs run;
 * the verifiers are plain WebCrypto, the same code the Worker runs.
 */
import { sign as signGithub } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import pipeline from "../../pipeline/sluice.config.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { verifyDelivery } from "../../src/ingest/providers.ts";
import { utf8 } from "../../src/lib/crypto.ts";
import { secrets } from "../support/fixtures.ts";

const config = parseConfig(pipeline);
const body = JSON.stringify({ id: "evt_sdk", type: "invoice.paid", data: { object: { object: "invoice" } } });
const verify = (provider: keyof typeof secrets, headers: Record<string, string>, payload = body) =>
  verifyDelivery({ headers: new Headers(headers), body: utf8(payload), now: Date.now() }, config.sources[provider]!, [secrets[provider]]);

describe("signed by the providers' SDKs", () => {
  it("stripe: webhooks.generateTestHeaderString", async () => {
    const stripe = new Stripe("sk_test_sluice");
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: secrets.stripe });
    await expect(verify("stripe", { "stripe-signature": header })).resolves.toBeUndefined();
    await expect(verify("stripe", { "stripe-signature": header }, `${body} `)).rejects.toMatchObject({ code: "bad_signature" });
    // And Stripe's own verifier agrees with the header Sluice accepts.
    expect(stripe.webhooks.constructEvent(body, header, secrets.stripe).id).toBe("evt_sdk");
  });

  it("stripe: a header 10 minutes old is stale", async () => {
    const stripe = new Stripe("sk_test_sluice");
    const header = stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: secrets.stripe,
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    await expect(verify("stripe", { "stripe-signature": header })).rejects.toMatchObject({ code: "stale_timestamp" });
  });

  it("github: @octokit/webhooks-methods sign", async () => {
    const signature = await signGithub(secrets.github, body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    await expect(verify("github", { "x-hub-signature-256": signature })).resolves.toBeUndefined();
  });

  it("standard: standardwebhooks Webhook#sign", async () => {
    const id = "msg_sdk_standard";
    const now = new Date();
    const signature = new StandardWebhook(secrets.standard).sign(id, now, body);
    const headers = { "webhook-id": id, "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": signature };
    await expect(verify("standard", headers)).resolves.toBeUndefined();
    // The SDK's own verifier accepts what it signed, as Sluice does.
    expect(new StandardWebhook(secrets.standard).verify(body, headers)).toMatchObject({ id: "evt_sdk" });
  });

  it("standard: svix Webhook#sign with svix-* headers", async () => {
    const id = "msg_sdk_svix";
    const now = new Date();
    const signature = new SvixWebhook(secrets.standard).sign(id, now, body);
    const headers = { "svix-id": id, "svix-timestamp": String(Math.floor(now.getTime() / 1000)), "svix-signature": signature };
    await expect(verify("standard", headers)).resolves.toBeUndefined();
  });
});
