/**
 * One genuine delivery per provider, signed by the provider's own SDK where one exists, through
 * a real `wrangler dev`: each lands as one row in its raw table, and a redelivery adds nothing.
 */
import { sign as signGithub } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, queryLocalD1, startDevServer } from "../../scripts/lib/dev-server.ts";
import { adminToken, secrets, testSecrets } from "../support/fixtures.ts";
import { signers } from "../support/sign.ts";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ vars: testSecrets });
});

afterAll(async () => {
  await server?.stop();
});

interface Delivery {
  source: string;
  table: string;
  /** A column of the landed row, and the value the delivery put there. */
  column: string;
  value: unknown;
  key: string;
  body: string;
  headers: () => Promise<Record<string, string>>;
}

const stripeBody = JSON.stringify({
  id: "evt_e2e_stripe",
  object: "event",
  type: "charge.succeeded",
  data: { object: { id: "ch_1", object: "charge", amount: 1099 } },
});
const githubBody = JSON.stringify({ action: "opened", number: 7, pull_request: { id: 1 } });
const shopifyBody = JSON.stringify({ id: 450789469, total_price: "598.94" });
const slackBody = JSON.stringify({ type: "event_callback", event_id: "Ev_e2e_slack", event: { type: "reaction_added", reaction: "tada" } });
const standardBody = JSON.stringify({ type: "user.created", data: { id: "u_1" } });
const genericBody = JSON.stringify({ type: "thing", n: 1 });

const deliveries: Delivery[] = [
  {
    source: "stripe",
    column: "data__object__amount",
    value: 1099,
    table: "raw_stripe__charges",
    key: "evt_e2e_stripe",
    body: stripeBody,
    headers: async () => ({
      "stripe-signature": new Stripe("sk_test_sluice").webhooks.generateTestHeaderString({ payload: stripeBody, secret: secrets.stripe }),
    }),
  },
  {
    source: "github",
    column: "number",
    value: 7,
    table: "raw_github__pull_requests",
    key: "d8a0b6c2-0000-4000-8000-00000000e2e1",
    body: githubBody,
    headers: async () => ({
      "x-hub-signature-256": await signGithub(secrets.github, githubBody),
      "x-github-event": "pull_request",
      "x-github-delivery": "d8a0b6c2-0000-4000-8000-00000000e2e1",
    }),
  },
  {
    source: "shopify",
    column: "total_price",
    value: "598.94",
    table: "raw_shopify__orders",
    key: "shopify-e2e-1",
    body: shopifyBody,
    headers: () => signers.shopify(shopifyBody, { id: "shopify-e2e-1", event: "orders/paid" }),
  },
  {
    source: "slack",
    column: "event__reaction",
    value: "tada",
    table: "raw_slack__reactions",
    key: "Ev_e2e_slack",
    body: slackBody,
    headers: () => signers.slack(slackBody),
  },
  {
    source: "standard",
    column: "data__id",
    value: "u_1",
    table: "raw_standard__events",
    key: "msg_e2e_standard",
    body: standardBody,
    headers: async () => {
      const now = new Date();
      return {
        "webhook-id": "msg_e2e_standard",
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": new StandardWebhook(secrets.standard).sign("msg_e2e_standard", now, standardBody),
      };
    },
  },
  {
    source: "generic",
    column: "n",
    value: 1,
    table: "raw_generic__events",
    key: "generic-e2e-1",
    body: genericBody,
    headers: () => signers.generic(genericBody, { id: "generic-e2e-1" }),
  },
];

describe("every provider end to end", () => {
  it("lands one signed delivery per provider in its raw table, once, even when delivered twice", async () => {
    for (const delivery of deliveries) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const response = await fetch(`${server.url}/v1/webhooks/${delivery.source}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(await delivery.headers()) },
          body: delivery.body,
        });
        expect(response.status, `${delivery.source}: ${await response.clone().text()}`).toBe(202);
        expect(await response.json()).toEqual({ accepted: 1, key: delivery.key });
      }
    }

    const deadline = Date.now() + 30_000;
    let records = 0;
    while (Date.now() < deadline) {
      const response = await fetch(`${server.url}/v1/loads?limit=100`, { headers: { authorization: `Bearer ${adminToken}` } });
      const body = (await response.json()) as { loads: { records: number }[] };
      records = body.loads.reduce((sum, load) => sum + load.records, 0);
      if (records >= deliveries.length * 2) break;
      await new Promise((done) => setTimeout(done, 250));
    }
    expect(records).toBe(deliveries.length * 2);

    // D1 caps compound SELECTs, so each table is one scalar subquery of a single-row SELECT.
    // Each delivery's fields land as typed, flattened columns.
    const sql = `SELECT ${deliveries
      .map((d) => `(SELECT json_group_array(json_object('key', _sluice_key, 'value', ${d.column})) FROM ${d.table}) AS ${d.source}`)
      .join(", ")}`;
    const [row] = queryLocalD1<Record<string, string>>(server.persistTo, sql);
    for (const delivery of deliveries) {
      expect(JSON.parse(row![delivery.source]!), delivery.table).toEqual([{ key: delivery.key, value: delivery.value }]);
    }
  });
});
