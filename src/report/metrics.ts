/**
 * `GET /metrics` (ADMIN_TOKENS): the Prometheus text exposition format. Workers keep no memory
 * between requests, so every value is read from rows the code paths write in D1: webhook outcome
 * counts, the load ledger, pull runs, model results, freshness checks, dead letters and
 * quarantine. Counters are running totals; gauges are current values.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { requireToken } from "../lib/auth.ts";

export const metricsRoutes = new Hono<AppEnv>();
metricsRoutes.use("/metrics", requireToken("admin"));

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  sql: string;
  labels: string[];
}

const families: Family[] = [
  { name: "sluice_webhooks_total", type: "counter", help: "Webhook deliveries by source, outcome and rejection reason.", labels: ["source", "outcome", "reason"], sql: "SELECT source, outcome, reason, sum(count) AS value FROM _sluice_webhook_counts GROUP BY 1, 2, 3" },
  { name: "sluice_records_loaded_total", type: "counter", help: "Records loaded as new (or, for merge, updated) rows.", labels: ["source", "stream"], sql: "SELECT source, stream, sum(inserted) AS value FROM _sluice_loads GROUP BY 1, 2" },
  { name: "sluice_records_duplicate_total", type: "counter", help: "Records whose key was already loaded.", labels: ["source", "stream"], sql: "SELECT source, stream, sum(duplicates) AS value FROM _sluice_loads GROUP BY 1, 2" },
  { name: "sluice_records_quarantined_total", type: "counter", help: "Records sent to quarantine.", labels: ["source", "stream"], sql: "SELECT source, stream, sum(quarantined) AS value FROM _sluice_loads GROUP BY 1, 2" },
  { name: "sluice_pull_pages_total", type: "counter", help: "Pages fetched by API pulls.", labels: ["source", "stream"], sql: "SELECT source, stream, sum(pages) AS value FROM _sluice_pull_runs GROUP BY 1, 2" },
  { name: "sluice_pull_runs_total", type: "counter", help: "Pull runs by final status.", labels: ["source", "stream", "status"], sql: "SELECT source, stream, status, count(*) AS value FROM _sluice_pull_runs GROUP BY 1, 2, 3" },
  { name: "sluice_model_results_total", type: "counter", help: "Model, seed, snapshot and test results by status.", labels: ["resource_type", "status"], sql: "SELECT resource_type, status, count(*) AS value FROM _sluice_model_results GROUP BY 1, 2" },
  { name: "sluice_test_failures_total", type: "counter", help: "Rows returned by failing data tests.", labels: [], sql: "SELECT coalesce(sum(failures), 0) AS value FROM _sluice_model_results WHERE resource_type = 'test'" },
  { name: "sluice_source_freshness_age_seconds", type: "gauge", help: "Age of the newest loaded record of each source table at its last check.", labels: ["source", "table"], sql: "SELECT source, table_name AS \"table\", age_seconds AS value FROM _sluice_source_freshness WHERE age_seconds IS NOT NULL" },
  { name: "sluice_dead_letters", type: "gauge", help: "Dead-lettered messages not yet redriven.", labels: ["queue"], sql: "SELECT queue, count(*) AS value FROM _sluice_dead_letters WHERE status = 'open' GROUP BY 1" },
  { name: "sluice_quarantine_open", type: "gauge", help: "Quarantined records not yet retried.", labels: ["source", "stream"], sql: "SELECT source, stream, count(*) AS value FROM _sluice_quarantine WHERE status = 'open' GROUP BY 1, 2" },
];

metricsRoutes.get("/metrics", async (c) => {
  const db = c.env.DB;
  const results = await db.batch(families.map((family) => db.prepare(family.sql)));
  const lines: string[] = [];
  for (const [i, family] of families.entries()) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const row of results[i]!.results as Record<string, unknown>[]) {
      const labels = family.labels.map((label) => `${label}="${escapeLabel(String(row[label] ?? ""))}"`).join(",");
      lines.push(`${family.name}${labels ? `{${labels}}` : ""} ${Number(row.value ?? 0)}`);
    }
  }
  return c.text(`${lines.join("\n")}\n`, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}
