/**
 * Automatic monitors: every declared stream gets two, with no configuration. `volume` is the
 * records loaded per hour (a drop, a spike or a silence is anomalous); `quarantine_rate` is
 * quarantined / (loaded + quarantined) per hour, judged only in hours with records (only a rise is
 * anomalous: fewer rejections is no incident). Both read the load ledger, which holds the same
 * numbers as the loaded and quarantined counters (a load's counters are its ledger row, counted at
 * its start) but keeps them past the hour after which the counters' minutes are folded away.
 *
 * In: the cron tick. Out: each complete hour judged by the anomaly model (quality/anomaly.ts) and
 * stored in `_sluice_monitor_buckets`, upserted per monitor and bucket start. A monitor with no
 * stored bucket judges all the history the ledger has (its backfill); after that, each tick
 * judges only the hours completed since its last one, trained on the stored buckets before them.
 * A monitor whose newest bucket is anomalous has an open incident (ops/monitor-incidents.ts).
 */
import { and, desc, eq, gte, lt, min, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { declaredStreams, type SluiceConfig } from "../config/index.ts";
import { loads, type MonitorBucket, monitorBuckets } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { type JudgedBucket, judgeSeries, type MetricBucket, modelDefaults } from "../quality/anomaly.ts";
import { hourMs, trainingWindowMs } from "../quality/stats.ts";
import { bucketsOf, storeBuckets } from "./monitor-buckets.ts";
import { syncMonitorIncidents } from "./monitor-incidents.ts";
import { tunedOptions } from "./monitor-settings.ts";

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

/** Each monitor's last judged bucket, read by the primary key (one row each, however long the history). */
export async function lastJudged(d1: D1Database, ids: readonly string[]): Promise<Map<string, MonitorBucket>> {
  if (ids.length === 0) return new Map();
  const db = drizzle(d1);
  const queries = ids.map((id) =>
    db.select().from(monitorBuckets).where(eq(monitorBuckets.monitorId, id)).orderBy(desc(monitorBuckets.bucketStart)).limit(1),
  );
  const results = await db.batch(queries as [(typeof queries)[number], ...(typeof queries)[number][]]);
  return new Map(results.flatMap((rows) => rows.map((row) => [row.monitorId, row] as const)));
}

/** Judges every stream's complete, not yet judged hours; returns how many buckets were stored. */
export async function judgeStreamMonitors(runtime: Runtime, now: Date): Promise<number> {
  const judgeUntil = now.getTime() - settleMs;
  const streams = declaredStreams(runtime.config);
  const last = await lastJudged(
    runtime.env.DB,
    streams.map(({ source, stream }) => monitorId(source, stream, "volume")),
  );
  let stored = 0;
  const newest = new Map<string, JudgedBucket>();
  for (const { source, stream } of streams) {
    // Volume is stored for every complete hour after the first, so its last bucket marks the stream's progress.
    const lastVolume = last.get(monitorId(source, stream, "volume"));
    const judgedUntil = lastVolume ? Date.parse(lastVolume.bucketEnd) : undefined;
    if (judgedUntil !== undefined && judgedUntil + hourMs > judgeUntil) continue;
    const series = await hourlySeries(runtime.env.DB, source, stream, judgedUntil, judgeUntil);
    if (series.length === 0) continue;
    const options = {
      bucketMs: hourMs,
      nowMs: judgeUntil,
      nonNegative: true,
      ...(judgedUntil === undefined ? {} : { detectFromMs: judgedUntil }),
    };
    const volume = series.map((h) => ({ startMs: h.startMs, value: h.loaded, rows: h.loaded }));
    const rate = series.map((h) => {
      const rows = h.loaded + h.quarantined;
      return { startMs: h.startMs, value: rows === 0 ? null : h.quarantined / rows, rows };
    });
    const volumeId = monitorId(source, stream, "volume");
    const rateId = monitorId(source, stream, "quarantine_rate");
    const judgedVolume = judgeSeries(volume, tunedOptions(runtime.config, volumeId, { ...options, counts: true, silence: true }));
    const judgedRate = judgeSeries(rate, tunedOptions(runtime.config, rateId, { ...options, direction: "spike", proportion: true }));
    stored += await storeJudged(runtime.env.DB, volumeId, judgedVolume, volume, now);
    stored += await storeJudged(runtime.env.DB, rateId, judgedRate, rate, now);
    for (const [kind, judged] of [
      ["volume", judgedVolume],
      ["quarantine_rate", judgedRate],
    ] as const) {
      const last = judged.at(-1);
      if (last) newest.set(monitorId(source, stream, kind), last);
    }
  }
  await syncMonitorIncidents(runtime, newest, now);
  return stored;
}

interface Hour {
  startMs: number;
  loaded: number;
  quarantined: number;
}

/**
 * A stream's loaded and quarantined records per hour, every hour present, up to `untilMs`. Backfilling,
 * all of it from the ledger, from its first load. After that, the training window before the first
 * hour still to judge is read back from the judged buckets (each stores the records it measured),
 * and only the new hours, and the stream's first hour (never judged, so never stored), from the ledger.
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
  const sparse = new Map<number, Hour>();
  if (judgedUntil !== undefined) {
    for (const hour of await storedHours(d1, source, stream, fromMs, judgedUntil)) sparse.set(hour.startMs, hour);
  }
  const hour = sql<string>`substr(${loads.startedAt}, 1, 13)`;
  const ledgerHours = (fromHourMs: number, untilHourMs?: number) =>
    db
      .select({ hour, loaded: sql<number>`sum(${loads.inserted})`, quarantined: sql<number>`sum(${loads.quarantined})` })
      .from(loads)
      .where(
        and(
          ofStream,
          gte(loads.startedAt, new Date(fromHourMs).toISOString()),
          untilHourMs === undefined ? undefined : lt(loads.startedAt, new Date(untilHourMs).toISOString()),
        ),
      )
      .groupBy(hour);
  const read = judgedUntil === undefined ? [ledgerHours(fromMs)] : [ledgerHours(judgedUntil)];
  if (judgedUntil !== undefined && fromMs === firstHour) read.push(ledgerHours(firstHour, firstHour + hourMs));
  for (const row of (await Promise.all(read)).flat()) {
    const startMs = Date.parse(`${row.hour}:00:00Z`);
    sparse.set(startMs, { startMs, loaded: row.loaded, quarantined: row.quarantined });
  }
  const endMs = Math.floor(untilMs / hourMs) * hourMs;
  const hours: Hour[] = [];
  for (let startMs = fromMs; startMs < endMs; startMs += hourMs) hours.push(sparse.get(startMs) ?? { startMs, loaded: 0, quarantined: 0 });
  return hours;
}

/** The hours judged in `[fromMs, untilMs)`, as the records their buckets measured. */
async function storedHours(d1: D1Database, source: string, stream: string, fromMs: number, untilMs: number): Promise<Hour[]> {
  const db = drizzle(d1);
  const judged = (kind: MonitorKind) =>
    db
      .select({ start: monitorBuckets.bucketStart, value: monitorBuckets.value, rows: monitorBuckets.rows })
      .from(monitorBuckets)
      .where(
        and(
          eq(monitorBuckets.monitorId, monitorId(source, stream, kind)),
          gte(monitorBuckets.bucketStart, new Date(fromMs).toISOString()),
          lt(monitorBuckets.bucketStart, new Date(untilMs).toISOString()),
        ),
      );
  const [volume, rate] = await db.batch([judged("volume"), judged("quarantine_rate")]);
  const measured = new Map(rate.map((b) => [b.start, b.rows]));
  return volume.map((b) => ({ startMs: Date.parse(b.start), loaded: b.rows, quarantined: (measured.get(b.start) ?? b.rows) - b.rows }));
}

/** Upserts a monitor's judged buckets (see monitor-buckets.ts). */
function storeJudged(
  d1: D1Database,
  id: string,
  judged: readonly JudgedBucket[],
  series: readonly MetricBucket[],
  now: Date,
): Promise<number> {
  return storeBuckets(d1, bucketsOf(id, judged, series), now);
}
