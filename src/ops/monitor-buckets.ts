/**
 * Where the monitors keep what they judged: `_sluice_monitor_buckets`, one row per monitor and
 * bucket (an hour; a test monitor's buckets are its test's). In: judged buckets, each with what it
 * was measured over (and, for schema, what changed). Out: rows upserted by monitor and bucket
 * start; read back as a monitor's last judged bucket (how far it has got) and as the measured hours
 * later hours train on, so that no tick rescans the history the monitor has already judged.
 */
import { and, desc, eq, getTableName, gte, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SluiceConfig } from "../config/index.ts";
import { chunkRows } from "../db/raw-tables.ts";
import { type MonitorBucket, monitorBuckets } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { quoteIdent } from "../lib/sql.ts";
import { type JudgedBucket, type MetricBucket, type ModelOptions, modelDefaults } from "../quality/anomaly.ts";
import { hourMs, trainingWindowMs } from "../quality/stats.ts";
import { tunedOptions } from "./monitor-settings.ts";

/** A load that started in an hour commits moments later: an hour is judged this long after it ends. */
export const settleMs = 5 * 60_000;
/** The longest training window the model may use on hourly buckets (`hour_of_week`). */
export const historyMs = trainingWindowMs("hour_of_week", modelDefaults.trainingMs);

const bucketsTable = quoteIdent(getTableName(monitorBuckets));

export const iso = (ms: number) => new Date(ms).toISOString();
export const hourFloor = (ms: number) => Math.floor(ms / hourMs) * hourMs;

/** A measured hour, as a monitor stores it and reads it back. */
export interface MeasuredHour extends MetricBucket {
  detail?: string | null;
}

/** What a judge hands back for one monitor: its judged buckets and the hours they were measured on. */
export interface Judgement {
  id: string;
  judged: JudgedBucket[];
  measured: MeasuredHour[];
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

/**
 * The distinct monitor ids with stored buckets, all or those starting with `prefix`, by a skip over
 * the primary key: one index seek per monitor, however many buckets each has (a GROUP BY would
 * read every bucket).
 */
export async function storedMonitorIds(d1: D1Database, prefix?: string): Promise<string[]> {
  // Every id with the prefix sorts at or after it and before the prefix with its last character bumped.
  const end = prefix ? prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) : undefined;
  const within = end === undefined ? "" : " AND monitor_id < ?2";
  const { results } = await d1
    .prepare(
      `WITH RECURSIVE ids(id) AS (
  SELECT min(monitor_id) FROM ${bucketsTable} WHERE monitor_id >= ?1${within}
  UNION ALL
  SELECT (SELECT min(monitor_id) FROM ${bucketsTable} WHERE monitor_id > ids.id${within}) FROM ids WHERE ids.id IS NOT NULL
)
SELECT id FROM ids WHERE id IS NOT NULL`,
    )
    .bind(prefix ?? "", ...(end === undefined ? [] : [end]))
    .all<{ id: string }>();
  return results.map((row) => row.id);
}

/** A monitor's work on one tick: the hours completed since its last judged bucket. */
export interface Pending {
  d1: D1Database;
  config: SluiceConfig;
  /** The monitor's id, and its source and stream (`""` for a source's own monitor). */
  id: string;
  source: string;
  stream: string;
  /** Its last judged bucket; undefined before its first, when it backfills. */
  last: MonitorBucket | undefined;
  /** The end of its last judged bucket. */
  judgedUntil: number | undefined;
  /** The end of the last complete hour: buckets ending after `judgeUntil` are still filling. */
  endMs: number;
  judgeUntil: number;
  now: Date;
}

/** Where a monitor stands on this tick; undefined when no hour has completed since the last one it judged. */
export function pendingHours(
  { env, config }: Runtime,
  monitor: { id: string; source: string; stream: string | null },
  last: MonitorBucket | undefined,
  judgeUntil: number,
  now: Date,
): Pending | undefined {
  const judgedUntil = last ? Date.parse(last.bucketEnd) : undefined;
  const endMs = hourFloor(judgeUntil);
  if (judgedUntil !== undefined && judgedUntil >= endMs) return undefined;
  return {
    d1: env.DB,
    config,
    id: monitor.id,
    source: monitor.source,
    stream: monitor.stream ?? "",
    last,
    judgedUntil,
    endMs,
    judgeUntil,
    now,
  };
}

/**
 * A monitor's model options on hourly buckets judged from `judgedUntil` on (all of them when
 * backfilling): its kind's own, under the tuning the config gives its id (ops/monitor-settings.ts).
 */
export function hourlyOptions(pending: Pending, id: string, options: Partial<ModelOptions>): ModelOptions {
  const { config, judgeUntil, judgedUntil } = pending;
  return tunedOptions(config, id, {
    bucketMs: hourMs,
    nowMs: judgeUntil,
    nonNegative: true,
    ...(judgedUntil === undefined ? {} : { detectFromMs: judgedUntil }),
    ...options,
  });
}

/** The hours each monitor judged in `[fromMs, untilMs)`, as stored: value, what it was measured over, detail. */
export async function storedHours(d1: D1Database, ids: readonly string[], fromMs: number, untilMs: number): Promise<MeasuredHour[][]> {
  if (ids.length === 0) return [];
  const db = drizzle(d1);
  const queries = ids.map((id) =>
    db
      .select({ start: monitorBuckets.bucketStart, value: monitorBuckets.value, rows: monitorBuckets.rows, detail: monitorBuckets.detail })
      .from(monitorBuckets)
      .where(
        and(eq(monitorBuckets.monitorId, id), gte(monitorBuckets.bucketStart, iso(fromMs)), lt(monitorBuckets.bucketStart, iso(untilMs))),
      )
      .orderBy(monitorBuckets.bucketStart),
  );
  const results = await db.batch(queries as [(typeof queries)[number], ...(typeof queries)[number][]]);
  return results.map((rows) => rows.map((b) => ({ startMs: Date.parse(b.start), value: b.value, rows: b.rows, detail: b.detail })));
}

/** A judged bucket as stored, with its monitor and what it was measured over. */
export interface StoredBucket {
  monitorId: string;
  bucket: JudgedBucket;
  rows: number;
  detail?: string | null;
}

/** A monitor's judged buckets, each with what its hour in `measured` (by start) was measured over. */
export function bucketsOf(monitorId: string, judged: readonly JudgedBucket[], measured: readonly MeasuredHour[]): StoredBucket[] {
  const byStart = new Map(measured.map((b) => [iso(b.startMs), b]));
  return judged.map((bucket) => {
    const hour = byStart.get(bucket.start);
    return { monitorId, bucket, rows: hour?.rows ?? 0, detail: hour?.detail ?? null };
  });
}

/**
 * The statements that upsert judged buckets, of any monitors, by monitor and bucket start. The rows
 * travel as JSON parameters, one per chunk within D1's limits, not one parameter per value.
 */
export function bucketUpserts(d1: D1Database, buckets: readonly StoredBucket[], now: Date): D1PreparedStatement[] {
  const rows = buckets.map(({ monitorId, bucket: b, rows, detail }) =>
    JSON.stringify([
      monitorId,
      b.start,
      b.end,
      b.value ?? 0,
      rows,
      b.expectedLow,
      b.expectedHigh,
      b.z,
      b.anomalous ? 1 : 0,
      detail ?? null,
    ]),
  );
  return chunkRows(rows).map((chunk) => d1.prepare(upsertSql).bind(chunk, now.toISOString()));
}

/** Upserts a monitor's judged buckets with what each was measured over (`measured`, by start); returns how many. */
export async function storeJudged(
  d1: D1Database,
  id: string,
  judged: readonly JudgedBucket[],
  measured: readonly MeasuredHour[],
  now: Date,
): Promise<number> {
  if (judged.length === 0) return 0;
  await d1.batch(bucketUpserts(d1, bucketsOf(id, judged, measured), now));
  return judged.length;
}

const column = (i: number) => `json_extract(value, '$[${i}]')`;
const upsertSql = `INSERT INTO ${bucketsTable}
  (monitor_id, bucket_start, bucket_end, value, rows, expected_low, expected_high, z, anomalous, detail, judged_at)
SELECT ${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(column).join(", ")}, ?2 FROM json_each(?1) WHERE true
ON CONFLICT (monitor_id, bucket_start) DO UPDATE SET bucket_end = excluded.bucket_end, value = excluded.value, rows = excluded.rows,
  expected_low = excluded.expected_low, expected_high = excluded.expected_high, z = excluded.z, anomalous = excluded.anomalous,
  detail = excluded.detail, judged_at = excluded.judged_at`;
