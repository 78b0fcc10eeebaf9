import { env } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { scheduleFlush } from "../../src/ingest/counts.ts";
import { createLogger } from "../../src/lib/log.ts";
import { runModels } from "../../src/models/runner.ts";
import { adminToken, reportToken } from "../support/fixtures.ts";
import { genericWebhook } from "../support/http.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { call, origin, recordingQueue } from "../support/worker.ts";

type Family = { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] };

const scrape = async (): Promise<Map<string, Family>> => {
  const response = await call(new Request(`${origin}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } }));
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const families = parsePrometheusTextFormat(await response.text()) as Family[];
  // Every family declares its type (`# TYPE`): the parser leaves it out, or UNTYPED, otherwise.
  for (const family of families) expect(`${family.name} ${family.type}`).toMatch(/ (COUNTER|GAUGE|HISTOGRAM|SUMMARY)$/);
  return new Map(families.map((f) => [f.name, f]));
};

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  Number(families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? 0);

describe("GET /metrics", () => {
  it("parses as Prometheus text, and every counter moves when its event happens", async () => {
    const before = await scrape();
    expect(before.get("sluice_webhooks_total")?.type).toBe("COUNTER");
    expect(before.get("sluice_dead_letters")?.type).toBe("GAUGE");

    // A rejected and an accepted webhook, counted in the background.
    const ingest = recordingQueue(env.INGEST);
    await call(await genericWebhook(origin, { body: "{}", secret: "forged" }), { INGEST: ingest.queue });
    await call(await genericWebhook(origin, { body: '{"type":"m"}' }), { INGEST: ingest.queue });
    await scheduleFlush(env.DB, createLogger());
    // A load of one record, and a message that cannot be read (a dead letter), then a model run.
    await deliver([
      recordMessage("metrics-1", { type: "m" }),
      { id: "metrics-dead", timestamp: new Date(), attempts: 1, body: { junk: true } },
    ]);
    await runModels(createRuntime(env, "scheduled"), { trigger: "manual", select: ["+events_per_day"] });

    const after = await scrape();
    expect(value(after, "sluice_webhooks_total", { source: "generic", outcome: "rejected", reason: "bad_signature" })).toBe(
      value(before, "sluice_webhooks_total", { source: "generic", outcome: "rejected", reason: "bad_signature" }) + 1,
    );
    expect(value(after, "sluice_webhooks_total", { source: "generic", outcome: "accepted" })).toBe(
      value(before, "sluice_webhooks_total", { source: "generic", outcome: "accepted" }) + 1,
    );
    expect(value(after, "sluice_records_loaded_total", { source: "generic", stream: "events" })).toBe(
      value(before, "sluice_records_loaded_total", { source: "generic", stream: "events" }) + 1,
    );
    expect(value(after, "sluice_dead_letters", { queue: "sluice-ingest" })).toBe(
      value(before, "sluice_dead_letters", { queue: "sluice-ingest" }) + 1,
    );
    expect(value(after, "sluice_model_results_total", { resource_type: "model", status: "success" })).toBeGreaterThan(
      value(before, "sluice_model_results_total", { resource_type: "model", status: "success" }),
    );
    expect(value(after, "sluice_model_results_total", { resource_type: "test", status: "pass" })).toBeGreaterThan(0);
  });

  it("needs an admin token: a report token gets 401", async () => {
    const response = await call(new Request(`${origin}/metrics`, { headers: { authorization: `Bearer ${reportToken}` } }));
    expect(response.status).toBe(401);
  });
});
