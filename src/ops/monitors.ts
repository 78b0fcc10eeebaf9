/**
 * Automatic monitors: every declared stream gets two, with no configuration. `volume` is the
 * records loaded per hour (a drop, a spike or a silence is anomalous); `quarantine_rate` is
 * quarantined / (loaded + quarantined) per hour, judged only in hours with records (only a rise is
 * anomalous: fewer rejections is no incident). Both read the load ledger, which holds the same numbers as
 * the loaded and quarantined counters (a load's counters are its ledger row, counted at its start)
 * but keeps them past the hour after which the counters' minutes are folded away.
 *
 * In: the cron tick. Out: each complete hour judged by the anomaly model (quality/anomaly.ts) and
 * stored in `_sluice_monitor_buckets`, upserted per monitor and bucket start. A monitor with no
 * stored bucket judges all the history the ledger has (its backfill); after that, each tick
 * judges only the hours completed since its last one, trained on the ones before.
 */
import { and, eq, getTableName, gte, like, max, min, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { declaredStreams, type SluiceConfig } from "../config/index.ts";
import { chunkRows } from "../db/raw-tables.ts";
import { loads, monitorBuckets } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { quoteIdent } from "../lib/sql.ts";
import { fillBuckets, type JudgedBucket, judgeSeries, type MetricBucket, modelDefaults } from "../quality/anomaly.ts";
import { hourMs, trainingWindowMs } from "../quality/stats.ts";

export const monitorKinds = ["volume", "quarantine_rate"] as const;
export type MonitorKind = (typeof monitorKinds)[number];

export interface Monitor {
  id: string;
  kind: MonitorKind;
  source: string;
  stream: string;
}

/** A load that started in an hour commits moments later: an hour is judged this long after it ends. */
export const settleMs = 5 * 60_000;
/** The longest training window the model may use on hourly buckets (`hour_of_week`). */
const historyMs = trainingWindowMs("hour_of_week", modelDefaults.trainingMs);

export const monitorId = (source: string, stream: string, kind: MonitorKind) => `stream:${source}.${stream}:${kind}`;

/** Every automatic monitor, in the order of the declared streams. */
export function streamMonitors(config: SluiceConfig): Monitor[] {
  return declaredStreams(config).flatMap(({ source, stream }) =>
    monitorKinds.map((kind) => ({ id: monitorId(source, stream, kind), kind, source, stream })),
  );
}

/** Judges every stream's complete, not yet judged hours; returns how many buckets were stored. */
export async function judgeStreamMonitors(runtime: Runtime, now: Date): Promise<number> {
  const db = drizzle(runtime.env.DB);
  const judgeUntil = now.getTime() - settleMs;
  const lastEnds = new Map(
    (
      await db
        .select({ id: monitorBuckets.monitorId, end: max(monitorBuckets.bucketEnd) })
        .from(monitorBuckets)
        .where(like(monitorBuckets.monitorId, "%:volume"))
        .groupBy(monitorBuckets.monitorId)
    ).map((row) => [row.id, row.end === null ? undefined : Date.parse(row.end)]),
  );
  let stored = 0;
  for (const { source, stream } of declaredStreams(runtime.config)) {
    // Volume is stored for every complete hour after the first, so its last bucket marks the stream's progress.
    const judgedUntil = lastEnds.get(monitorId(source, stream, "volume"));
    if (judgedUntil !== undefined && judgedUntil + hourMs > judgeUntil) continue;
    const series = await hourlySeries(runtime.env.DB, source, stream, judgedUntil, judgeUntil);
    if (series.length === 0) continue;
    const options = {
      bucketMs: hourMs,
      nowMs: judgeUntil,
      nonNegative: true,
      ...(judgedUntil === undefined ? {} : { detectFromMs: judgedUntil }),
    };
    const volume = judgeSeries(
      series.map((h) => ({ startMs: h.startMs, value: h.loaded, rows: h.loaded })),
      { ...options, counts: true, silence: true },
    );
    const rate = judgeSeries(
      series.map((h) => {
        const rows = h.loaded + h.quarantined;
        return { startMs: h.startMs, value: rows === 0 ? null : h.quarantined / rows, rows };
      }),
      { ...options, direction: "spike", proportion: true },
    );
    stored += await storeJudged(runtime.env.DB, monitorId(source, stream, "volume"), volume, now);
    stored += await storeJudged(runtime.env.DB, monitorId(source, stream, "quarantine_rate"), rate, now);
  }
  return stored;
}

interface Hour extends MetricBucket {
  loaded: number;
  quarantined: number;
}

/**
 * A stream's loaded and quarantined records per hour from its first load (or, once judged, from a
 * training window before the first hour still to judge) up to `untilMs`, every hour present.
 */
async function hourlySeries(d1: D1Database, source: string, stream: string, judgedUntil: number | undefined, untilMs: number) {
  const db = drizzle(d1);
  const ofStream = and(eq(loads.source, source), eq(loads.stream, stream), eq(loads.status, "loaded"));
  const [first] = await db
    .select({ at: min(loads.startedAt) })
    .from(loads)
    .where(ofStream);
  if (!first?.at) return [];
  const firstHour = Math.floor(Date.parse(first.at) / hourMs) * hourMs;
  const fromMs = judgedUntil === undefined ? firstHour : Math.max(firstHour, judgedUntil - historyMs);
  const hour = sql<string>`substr(${loads.startedAt}, 1, 13)`;
  const rows = await db
    .select({ hour, loaded: sql<number>`sum(${loads.inserted})`, quarantined: sql<number>`sum(${loads.quarantined})` })
    .from(loads)
    .where(and(ofStream, gte(loads.startedAt, new Date(fromMs).toISOString())))
    .groupBy(hour);
  const sparse = new Map<number, Hour>();
  for (const row of rows) {
    const startMs = Date.parse(`${row.hour}:00:00Z`);
    sparse.set(startMs, { startMs, value: row.loaded, rows: row.loaded, loaded: row.loaded, quarantined: row.quarantined });
  }
  const endMs = Math.floor(untilMs / hourMs) * hourMs;
  return fillBuckets(sparse, fromMs, endMs, hourMs, (startMs) => ({ startMs, value: 0, rows: 0, loaded: 0, quarantined: 0 })) as Hour[];
}

/** Upserts judged buckets: the rows travel as JSON parameters (one per chunk within D1's limits), not one parameter per value. */
async function storeJudged(d1: D1Database, id: string, judged: readonly JudgedBucket[], now: Date): Promise<number> {
  if (judged.length === 0) return 0;
  const rows = judged.map((b) => JSON.stringify([b.start, b.end, b.value ?? 0, b.expectedLow, b.expectedHigh, b.z, b.anomalous ? 1 : 0]));
  await d1.batch(chunkRows(rows).map((chunk) => d1.prepare(upsertSql).bind(id, chunk, now.toISOString())));
  return rows.length;
}

const column = (i: number) => `json_extract(value, '$[${i}]')`;
const upsertSql = `INSERT INTO ${quoteIdent(getTableName(monitorBuckets))}
  (monitor_id, bucket_start, bucket_end, value, expected_low, expected_high, z, anomalous, judged_at)
SELECT ?1, ${[0, 1, 2, 3, 4, 5, 6].map(column).join(", ")}, ?3 FROM json_each(?2) WHERE true
ON CONFLICT (monitor_id, bucket_start) DO UPDATE SET bucket_end = excluded.bucket_end, value = excluded.value,
  expected_low = excluded.expected_low, expected_high = excluded.expected_high, z = excluded.z, anomalous = excluded.anomalous,
  judged_at = excluded.judged_at`;
