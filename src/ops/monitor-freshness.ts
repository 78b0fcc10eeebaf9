/**
 * A stream's freshness per hour: the longest it went without new rows, seen at any moment of the
 * hour, in minutes. That is Elementary's `freshness_anomalies` measure (and `sluice.freshness_anomalies`'):
 * the largest gap between loads that ends in the hour, or the time from the last load up to the
 * hour's end, whichever is longer. A stream fed every few minutes sits at a few minutes; a pull every
 * six hours climbs from one to six hours and back, the same way each day, which the seasonal slots
 * learn. Only a rise is anomalous (a stream is never too fresh), so a stream that stops loading is
 * flagged in the first hour its age passes its learned cadence, webhook and pulled streams alike.
 *
 * A load counts when it wrote rows (`inserted` > 0): a pull that found only what was already loaded,
 * or a batch that was all quarantined, brought nothing new.
 *
 * In: the stream, its monitor's last judged bucket, the tick. Out: the complete hours since then,
 * judged and stored, with the loads counted in each. Later hours train on the stored values; each
 * tick reads the load ledger only for the new hours, and the one load before them that their first
 * gap starts from.
 */
import { getTableName } from "drizzle-orm";
import { loads } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";
import { judgeSeries } from "../quality/anomaly.ts";
import { hourMs } from "../quality/stats.ts";
import {
  historyMs,
  hourFloor,
  hourlyOptions,
  iso,
  type Judgement,
  type MeasuredHour,
  type Pending,
  storedHours,
} from "./monitor-buckets.ts";

/** Loads start a few minutes early or late: spreads below this (in minutes) are not a change in cadence. */
export const freshnessMinStddev = 5;

const minuteMs = 60_000;
const ledger = quoteIdent(getTableName(loads));
const ofStream = `source = ?1 AND stream = ?2 AND status = 'loaded' AND inserted > 0`;
const firstLoadSql = `SELECT started_at AS at FROM ${ledger} WHERE ${ofStream} ORDER BY started_at LIMIT 1`;
const loadBeforeSql = `SELECT started_at AS at FROM ${ledger} WHERE ${ofStream} AND started_at < ?3 ORDER BY started_at DESC LIMIT 1`;
/**
 * Per hour from `?3` (the load before it included, so the hour's first gap has its start): its loads, the
 * last, and the largest gap ending in it, in whole milliseconds as the timestamps hold them.
 */
const hoursSql = `SELECT substr(at, 1, 13) AS hour, count(*) AS n, max(at) AS last, max(round((julianday(at) - julianday(prev)) * 86400000.0)) AS gap
FROM (SELECT started_at AS at, lag(started_at) OVER (ORDER BY started_at) AS prev FROM ${ledger}
  WHERE ${ofStream} AND started_at >= ?4 AND started_at < ?5)
WHERE at >= ?3 GROUP BY 1`;

interface LedgerHour {
  hour: string;
  n: number;
  last: string;
  gap: number | null;
}

/** Judges the stream's complete hours since its last judged freshness bucket. */
export async function judgeFreshness(pending: Pending): Promise<Judgement[]> {
  const { d1, id, source, stream, judgedUntil, endMs } = pending;
  const first = await d1.prepare(firstLoadSql).bind(source, stream).first<{ at: string }>();
  if (!first) return [];
  const firstHour = hourFloor(Date.parse(first.at));
  const fromMs = judgedUntil === undefined ? firstHour : Math.max(firstHour, judgedUntil - historyMs);
  const sparse = new Map<number, MeasuredHour>();
  if (judgedUntil !== undefined) for (const hour of (await storedHours(d1, [id], fromMs, judgedUntil))[0]!) sparse.set(hour.startMs, hour);
  // The stream's first hour is never judged, so never stored: it is measured again while it trains.
  const measureFrom = judgedUntil ?? firstHour;
  if (measureFrom > firstHour && fromMs === firstHour)
    for (const hour of await measure(d1, source, stream, firstHour, firstHour + hourMs)) sparse.set(hour.startMs, hour);
  for (const hour of await measure(d1, source, stream, measureFrom, endMs)) sparse.set(hour.startMs, hour);

  const series: MeasuredHour[] = [];
  for (let startMs = fromMs; startMs < endMs; startMs += hourMs) {
    const hour = sparse.get(startMs);
    if (hour) series.push(hour);
  }
  return [
    {
      id,
      judged: judgeSeries(series, hourlyOptions(pending, id, { direction: "spike", minStddev: freshnessMinStddev })),
      measured: series,
    },
  ];
}

/** Each hour of `[fromMs, untilMs)` from the ledger, every hour present: its freshness in minutes and its loads. */
async function measure(d1: D1Database, source: string, stream: string, fromMs: number, untilMs: number): Promise<MeasuredHour[]> {
  const before = await d1.prepare(loadBeforeSql).bind(source, stream, iso(fromMs)).first<{ at: string }>();
  const { results } = await d1
    .prepare(hoursSql)
    .bind(source, stream, iso(fromMs), before?.at ?? iso(fromMs), iso(untilMs))
    .all<LedgerHour>();
  const byHour = new Map(results.map((row) => [Date.parse(`${row.hour}:00:00Z`), row]));
  let lastMs = before ? Date.parse(before.at) : undefined;
  const hours: MeasuredHour[] = [];
  for (let startMs = fromMs; startMs < untilMs; startMs += hourMs) {
    const row = byHour.get(startMs);
    if (row) lastMs = Date.parse(row.last);
    // Before the stream's first load there is nothing to be fresh or stale.
    if (lastMs === undefined) continue;
    const sinceLast = startMs + hourMs - lastMs;
    hours.push({ startMs, value: Math.max(sinceLast, row?.gap ?? 0) / minuteMs, rows: row?.n ?? 0 });
  }
  return hours;
}
