/**
 * A webhook source's rejection rate per hour: deliveries refused / deliveries received, from the
 * counts the intake keeps (`_sluice_webhook_counts`, ingest/counts.ts). A refusal is every delivery
 * answered with an error: a bad or missing signature, a stale timestamp, a body too large or not
 * JSON, the source's rate limit, a source without a secret, a queue that refused the message. A
 * request with another method than POST is no delivery and counts on neither side; a path naming
 * no source counts under `(unknown)`, which no monitor watches. Handshakes (GitHub's ping, Slack's
 * URL check) are deliveries answered 200. Judged only in hours with deliveries; only a rise is
 * anomalous, and only when at least `minRejected` deliveries were refused in the hour: a stray forged
 * request from a scanner is not an incident, however clean the source's history.
 *
 * Why per source (`source:<source>:rejection_rate`) and not per stream: a delivery is refused
 * before it is routed, for routing reads the body and only a verified body may decide anything, so
 * a refusal has no stream (its count's stream is empty). Counting each refusal in every stream of
 * its source would turn one cause into as many incidents as the source has streams.
 *
 * In: the source, its monitor's last judged bucket, the tick. Out: the complete hours with
 * deliveries since then, judged and stored with their deliveries. Each tick reads the counts of
 * the new hours only (by the source's index); training reads the stored buckets back.
 */
import { getTableName } from "drizzle-orm";
import { webhookCounts } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";
import { judgeSeries } from "../quality/anomaly.ts";
import { hourMs } from "../quality/stats.ts";
import { historyMs, hourlyOptions, iso, type Judgement, type MeasuredHour, type Pending, storedHours } from "./monitor-buckets.ts";

/** Fewer refusals than this in an hour are never an anomaly. */
export const minRejected = 3;

const counts = quoteIdent(getTableName(webhookCounts));
const ofSource = `source = ?1 AND reason <> 'method_not_allowed'`;
const firstHourSql = `SELECT hour FROM ${counts} WHERE ${ofSource} ORDER BY hour LIMIT 1`;
const hoursSql = `SELECT hour, sum(count) AS deliveries, sum(CASE WHEN outcome = 'rejected' THEN count ELSE 0 END) AS rejected
FROM ${counts} WHERE ${ofSource} AND hour >= ?2 AND hour < ?3 GROUP BY hour`;

/** Counts hours are `YYYY-MM-DDTHH`. */
const countsHour = (ms: number) => iso(ms).slice(0, 13);

/** Judges the source's complete hours since its last judged bucket. */
export async function judgeRejections(pending: Pending): Promise<Judgement[]> {
  const { d1, id, source, judgedUntil, endMs } = pending;
  // Hours without deliveries are not judged (nor stored): a source that went quiet costs one indexed read a tick.
  const since = judgedUntil === undefined ? undefined : await measure(d1, source, judgedUntil, endMs);
  if (since?.length === 0) return [];
  const first = await d1.prepare(firstHourSql).bind(source).first<{ hour: string }>();
  if (!first) return [];
  const firstHour = Date.parse(`${first.hour}:00:00Z`);
  const newHours = since ?? (await measure(d1, source, firstHour, endMs));

  const sparse = new Map<number, MeasuredHour>();
  if (judgedUntil !== undefined) {
    // The training window of the first new hour with deliveries, from the stored buckets (value × deliveries = refusals).
    const fromMs = Math.max(firstHour, newHours[0]!.startMs - historyMs);
    for (const hour of (await storedHours(d1, [id], fromMs, judgedUntil))[0]!) sparse.set(hour.startMs, hour);
    // The source's first hour is never judged, so never stored.
    if (fromMs === firstHour) for (const hour of await measure(d1, source, firstHour, firstHour + hourMs)) sparse.set(hour.startMs, hour);
  }
  for (const hour of newHours) sparse.set(hour.startMs, hour);
  const series = [...sparse.values()].sort((a, b) => a.startMs - b.startMs);
  const judged = judgeSeries(series, hourlyOptions(pending, id, { direction: "spike", proportion: true })).map((b) => {
    const rows = sparse.get(Date.parse(b.start))!.rows;
    return b.anomalous && Math.round((b.value ?? 0) * rows) < minRejected ? { ...b, anomalous: false, reason: null } : b;
  });
  return [{ id, judged, measured: series }];
}

/** The hours of `[fromMs, untilMs)` in which the source had deliveries: the refused share, over the deliveries. */
async function measure(d1: D1Database, source: string, fromMs: number, untilMs: number): Promise<MeasuredHour[]> {
  const { results } = await d1
    .prepare(hoursSql)
    .bind(source, countsHour(fromMs), countsHour(untilMs))
    .all<{ hour: string; deliveries: number; rejected: number }>();
  return results
    .filter((row) => row.deliveries > 0)
    .map((row) => ({ startMs: Date.parse(`${row.hour}:00:00Z`), value: row.rejected / row.deliveries, rows: row.deliveries }));
}
