/**
 * The whole slice through a real `wrangler dev`, as a user drives it: signed webhooks over
 * HTTP, real queue delivery, the cron fired through /cdn-cgi/handler/scheduled, and the report.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../scripts/lib/dev-server.ts";
import { adminToken, reportToken, testSecrets } from "../support/fixtures.ts";
import { genericWebhook } from "../support/http.ts";
import { signedRequest } from "../support/sign.ts";
import { waitFor } from "../support/wait.ts";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ vars: { ...testSecrets, LOG_LEVEL: "info" } });
});

afterAll(async () => {
  await server?.stop();
});

const admin = { authorization: `Bearer ${adminToken}` };

const until = <T>(what: string, probe: () => Promise<T | undefined>) => waitFor(what, probe, () => server.output(), 30_000);

describe("webhook → queue → R2 + D1 → model on cron → report", () => {
  it("loads each event once and serves the daily count", async () => {
    const events = [
      { id: "e2e-1", body: JSON.stringify({ type: "signup", user: 1 }) },
      { id: "e2e-2", body: JSON.stringify({ type: "purchase", user: 1, amount: 20 }) },
      { id: "e2e-3", body: JSON.stringify({ type: "signup", user: 2 }) },
    ];
    for (const event of events) {
      const response = await fetch(await genericWebhook(server.url, { body: event.body, eventId: event.id }));
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ accepted: 1, key: event.id });
    }
    // The same delivery again, as a provider retry would send it.
    const duplicate = await fetch(await genericWebhook(server.url, { body: events[0]!.body, eventId: "e2e-1" }));
    expect(duplicate.status).toBe(202);

    // The queue delivers within max_batch_timeout; the ledger shows when all four are loaded.
    const loads = await until("4 records in the load ledger", async () => {
      const response = await fetch(`${server.url}/v1/loads?source=generic`, { headers: admin });
      const body = (await response.json()) as { loads: { records: number; inserted: number; duplicates: number; r2Key: string }[] };
      const records = body.loads.reduce((sum, load) => sum + load.records, 0);
      return records >= 4 ? body.loads : undefined;
    });
    expect(loads.reduce((sum, load) => sum + load.inserted, 0)).toBe(3);
    expect(loads.reduce((sum, load) => sum + load.duplicates, 0)).toBe(1);
    for (const load of loads)
      expect(load.r2Key).toMatch(/^raw\/generic\/events\/dt=\d{4}-\d{2}-\d{2}\/hr=\d{2}\/ld_[0-9a-z]{26}\.ndjson\.gz$/);

    const cron = await fetch(`${server.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
    expect(cron.status).toBe(200);

    const report = await fetch(`${server.url}/v1/reports/events_per_day`, { headers: { authorization: `Bearer ${reportToken}` } });
    expect(report.status).toBe(200);
    const body = (await report.json()) as { rows: { day: string; events: number; event_types: number }[] };
    const today = new Date().toISOString().slice(0, 10);
    expect(body.rows).toHaveLength(1);
    expect(body.rows[0]).toMatchObject({ day: today, events: 3, event_types: 2 });
  });

  it("rejects bad input over HTTP with the error body and enqueues nothing", async () => {
    type Load = { loadId: string; records: number; inserted: number };
    const loads = () =>
      fetch(`${server.url}/v1/loads?limit=500`, { headers: admin }).then(async (r) => ((await r.json()) as { loads: Load[] }).loads);
    const before = new Set((await loads()).map((load) => load.loadId));

    const forged = await fetch(await genericWebhook(server.url, { body: "{}", secret: "forged" }));
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("bad_signature");

    const huge = await fetch(await genericWebhook(server.url, { body: JSON.stringify({ x: "y".repeat(10 * 1024 * 1024) }) }));
    expect(huge.status).toBe(413);

    const notJson = await fetch(await genericWebhook(server.url, { body: "not json" }));
    expect(notJson.status).toBe(400);

    const unknown = await fetch(`${server.url}/v1/webhooks/nosuch`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);

    const wrongMethod = await fetch(`${server.url}/v1/webhooks/generic`);
    expect(wrongMethod.status).toBe(405);

    const stale = await fetch(
      await signedRequest(server.url, "stripe", JSON.stringify({ id: "evt_stale" }), { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
    );
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe("stale_timestamp");

    const noToken = await fetch(`${server.url}/v1/reports/events_per_day`);
    expect(noToken.status).toBe(401);
    const unknownReport = await fetch(`${server.url}/v1/reports/nosuch`, { headers: { authorization: `Bearer ${reportToken}` } });
    expect(unknownReport.status).toBe(404);

    // A sentinel: one good delivery sent after the bad ones. Once it is loaded, anything the bad
    // ones had enqueued would have been delivered before it or in its batch, so the only new
    // load must be the sentinel's one record.
    const sentinel = await fetch(
      await genericWebhook(server.url, { body: JSON.stringify({ type: "sentinel" }), eventId: `e2e-sentinel-${Date.now()}` }),
    );
    expect(sentinel.status).toBe(202);
    const since = await until("the sentinel's load", async () => {
      const added = (await loads()).filter((load) => !before.has(load.loadId));
      return added.length > 0 ? added : undefined;
    });
    expect(since.map((load) => [load.records, load.inserted])).toEqual([[1, 1]]);
  });

  it("serves /metrics that Prometheus's own promtool accepts, with the events counted", async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: admin });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^sluice_records_loaded_total\{source="generic",stream="events"\} [1-9]\d*$/m);
    expect(text).toMatch(/^sluice_webhooks_total\{source="generic",outcome="rejected",reason="bad_signature"\} [1-9]\d*$/m);
    // Debian's `prometheus` package ships promtool; `npm test` installs it when it is missing.
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("");
    expect(check.status).toBe(0);
  });

  it("logs structured events and never writes a secret to its logs", () => {
    expect(server.output()).toContain('"event":"webhook.rejected"');
    expect(server.output()).toContain('"event":"load.completed"');
    const secrets = Object.entries(testSecrets)
      .filter(([name]) => name !== "LOG_LEVEL")
      .flatMap(([, value]) => value.split(","));
    for (const secret of secrets) expect(server.output()).not.toContain(secret);
  });
});
