/**
 * `GET /metrics` (ADMIN_TOKENS): the Prometheus text exposition format. Workers keep no memory
 * between requests, so every value is read from D1: counters from the per-minute rollups each
 * code path adds to in the same transaction as its work, gauges (freshness age, open dead
 * letters, open quarantine) from the state they describe.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { incidentKinds } from "../db/schema.ts";
import { errors } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { type Counter, readCounters } from "../ops/rollups.ts";

export const metricsRoutes = createRouter("admin");

const metrics = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics",
  responses: {
    200: { description: "The Prometheus text exposition format", content: { "text/plain": { schema: z.string() } } },
    ...errors(401, 429),
  },
});

interface Family {
  name: string;
  help: string;
  labels: string[];
}

/** Counters: sums of the per-minute rollups the code paths write (ops/rollups.ts). */
const counterFamilies: (Family & { name: Counter })[] = [
  {
    name: "sluice_webhooks_total",
    help: "Webhook deliveries by source, outcome and rejection reason.",
    labels: ["source", "outcome", "reason"],
  },
  { name: "sluice_records_loaded_total", help: "Records loaded as new (or, for merge, updated) rows.", labels: ["source", "stream"] },
  { name: "sluice_records_duplicate_total", help: "Records whose key was already loaded.", labels: ["source", "stream"] },
  { name: "sluice_records_quarantined_total", help: "Records sent to quarantine.", labels: ["source", "stream"] },
  {
    name: "sluice_records_key_conflict_total",
    help: "Records whose key, from outside the signature, was first loaded with another body: each loaded under <key>#<body hash>.",
    labels: ["source", "stream"],
  },
  { name: "sluice_pull_pages_total", help: "Pages fetched by API pulls.", labels: ["source", "stream"] },
  { name: "sluice_pull_runs_total", help: "Pull runs by final status.", labels: ["source", "stream", "status"] },
  { name: "sluice_model_results_total", help: "Model, seed, snapshot and test results by status.", labels: ["resource_type", "status"] },
  { name: "sluice_test_failures_total", help: "Rows returned by failing data tests.", labels: [] },
];

/** Incidents per kind, every kind present (a 0 is an answer: nothing is open). */
const incidentsByKind = (where: string) => `SELECT kinds.value AS kind, count(i.id) AS value
  FROM json_each('${JSON.stringify(incidentKinds)}') AS kinds
  LEFT JOIN _sluice_incidents AS i ON i.kind = kinds.value AND ${where}
  GROUP BY 1`;

/** Gauges: current values, read from the state they describe. */
const gaugeFamilies: (Family & { sql: string })[] = [
  {
    name: "sluice_source_freshness_age_seconds",
    help: "Age of the newest loaded record of each source table at its last check.",
    labels: ["source", "table"],
    sql: 'SELECT source, table_name AS "table", age_seconds AS value FROM _sluice_source_freshness WHERE age_seconds IS NOT NULL',
  },
  {
    name: "sluice_dead_letters",
    help: "Dead-lettered messages not yet redriven.",
    labels: ["queue"],
    sql: "SELECT queue, count(*) AS value FROM _sluice_dead_letters WHERE status = 'open' GROUP BY 1",
  },
  {
    name: "sluice_quarantine_open",
    help: "Quarantined records not yet retried.",
    labels: ["source", "stream"],
    sql: "SELECT source, stream, count(*) AS value FROM _sluice_quarantine WHERE status = 'open' GROUP BY 1, 2",
  },
  {
    name: "sluice_incidents_open",
    help: "Open incidents by kind (every kind, 0 when none).",
    labels: ["kind"],
    sql: incidentsByKind("i.status = 'open'"),
  },
  {
    name: "sluice_incidents_unhandled",
    help: "Open incidents by kind that no one has acknowledged or muted: the ones to page on.",
    labels: ["kind"],
    sql: incidentsByKind(
      "i.status = 'open' AND i.acked_at IS NULL AND coalesce(i.muted_until, '') <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    ),
  },
];

metricsRoutes.openapi(metrics, async (c) => {
  const db = c.env.DB;
  const [counters, gauges] = await Promise.all([readCounters(db), db.batch(gaugeFamilies.map((family) => db.prepare(family.sql)))]);
  const lines: string[] = [];
  const family = (f: Family, type: "counter" | "gauge", rows: Record<string, unknown>[]) => {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${type}`);
    for (const row of rows) {
      const labels = f.labels.map((label) => `${label}="${escapeLabel(String(row[label] ?? ""))}"`).join(",");
      lines.push(`${f.name}${labels ? `{${labels}}` : ""} ${Number(row.value ?? 0)}`);
    }
  };
  for (const f of counterFamilies) {
    const rows = counters.get(f.name) ?? [];
    // A counter with no label set yet still reads 0, so it exists from the first scrape.
    family(
      f,
      "counter",
      rows.length > 0 ? rows.map((r) => ({ ...r.labels, value: r.value })) : f.labels.length === 0 ? [{ value: 0 }] : [],
    );
  }
  for (const [i, f] of gaugeFamilies.entries()) family(f, "gauge", gauges[i]!.results as Record<string, unknown>[]);
  return c.text(`${lines.join("\n")}\n`, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}
