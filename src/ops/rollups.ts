/**
 * Per-minute counter rollups in `_sluice_metric_minutes`, which `/metrics` sums. Workers keep no
 * memory between requests, so each code path adds to its counters in D1 itself, in the same
 * batch (one transaction) as the work it counts wherever there is one: a counter never runs
 * ahead of its event, nor behind it. On every cron tick, rows older than an hour are folded into
 * one all-time row per counter and label set, so a scrape reads a bounded number of rows.
 */
import { getTableName, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { loads, metricMinutes } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";

export const counters = [
  "sluice_webhooks_total",
  "sluice_records_loaded_total",
  "sluice_records_duplicate_total",
  "sluice_records_quarantined_total",
  "sluice_records_key_conflict_total",
  "sluice_pull_pages_total",
  "sluice_pull_runs_total",
  "sluice_model_results_total",
  "sluice_test_failures_total",
] as const;
export type Counter = (typeof counters)[number];

/** The history before rollups, and every minute folded after its hour. */
export const allTimeMinute = "0000-00-00T00:00";
const keepMinutes = 60;

const table = quoteIdent(getTableName(metricMinutes));
const upsert = `ON CONFLICT (minute, metric, labels) DO UPDATE SET value = value + excluded.value`;

/** `YYYY-MM-DDTHH:MM` (UTC). */
export function minuteOf(at: Date): string {
  return at.toISOString().slice(0, 16);
}

/** Label values as the rollup stores them: JSON with keys in the given order, as SQLite's json_object writes them. */
export function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(labels);
}

export interface CounterAdd {
  metric: Counter;
  labels: Record<string, string>;
  value: number;
}

/**
 * Adds to one or more counters (up to five, D1's limit on compound SELECTs) in one statement,
 * for drizzle batches. With `ifChanged`, only if the statement before it in the batch changed a
 * row; one statement, so every counter it adds to is guarded by that same statement.
 */
export function counterInsert(db: DrizzleD1Database, adds: readonly CounterAdd[], options: { at?: Date; ifChanged?: boolean } = {}) {
  const minute = minuteOf(options.at ?? new Date());
  const guard = options.ifChanged ? sql`WHERE changes() > 0` : sql`WHERE true`;
  const selects = adds.map((add) => sql`SELECT ${minute}, ${add.metric}, ${labelKey(add.labels)}, ${add.value} ${guard}`);
  return db
    .insert(metricMinutes)
    .select(sql.join(selects, sql` UNION ALL `))
    .onConflictDoUpdate({
      target: [metricMinutes.minute, metricMinutes.metric, metricMinutes.labels],
      set: { value: sql`${metricMinutes.value} + excluded.value` },
    });
}

/**
 * Adds a completed load's records to the loaded, duplicate, quarantined and key-conflict counters, read from
 * its ledger row inside the load's own transaction (so a load that rolls back counts nothing).
 */
export function addLoadCounters(db: D1Database, loadId: string, at = new Date()): D1PreparedStatement {
  return db.prepare(loadCountersSql).bind(minuteOf(at), loadId);
}

const pickFromLedger = (metric: Counter, column: string) =>
  `SELECT '${metric}' AS metric, json_object('source', source, 'stream', stream) AS labels, ${column} AS value FROM ${quoteIdent(getTableName(loads))} WHERE load_id = ?2`;
const loadCountersSql = `INSERT INTO ${table} (minute, metric, labels, value)
SELECT ?1, metric, labels, value FROM (${pickFromLedger("sluice_records_loaded_total", "inserted")}
  UNION ALL ${pickFromLedger("sluice_records_duplicate_total", "duplicates")}
  UNION ALL ${pickFromLedger("sluice_records_quarantined_total", "quarantined")}
  UNION ALL ${pickFromLedger("sluice_records_key_conflict_total", "key_conflicts")}) WHERE value > 0
${upsert}`;

/** Each counter's totals by label set. */
export async function readCounters(db: D1Database): Promise<Map<Counter, { labels: Record<string, string>; value: number }[]>> {
  const { results } = await db
    .prepare(`SELECT metric, labels, sum(value) AS value FROM ${table} GROUP BY metric, labels ORDER BY metric, labels`)
    .all<{ metric: Counter; labels: string; value: number }>();
  const byCounter = new Map<Counter, { labels: Record<string, string>; value: number }[]>();
  for (const row of results) {
    const list = byCounter.get(row.metric) ?? [];
    list.push({ labels: JSON.parse(row.labels) as Record<string, string>, value: row.value });
    byCounter.set(row.metric, list);
  }
  return byCounter;
}

/** Folds minutes older than an hour into the all-time row of each counter and label set. */
export function foldOldMinutes(db: D1Database, now = new Date()): D1PreparedStatement[] {
  const cutoff = minuteOf(new Date(now.getTime() - keepMinutes * 60_000));
  return [
    db
      .prepare(
        `INSERT INTO ${table} (minute, metric, labels, value)
SELECT ?1, metric, labels, sum(value) FROM ${table} WHERE minute < ?2 AND minute != ?1 GROUP BY metric, labels
${upsert}`,
      )
      .bind(allTimeMinute, cutoff),
    db.prepare(`DELETE FROM ${table} WHERE minute < ?2 AND minute != ?1`).bind(allTimeMinute, cutoff),
  ];
}
