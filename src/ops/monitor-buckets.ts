/**
 * Storing judged buckets, for every kind of monitor (stream, table, test). In: judged buckets with
 * their monitor id and the rows each was measured over. Out: the statements that upsert them into
 * `_sluice_monitor_buckets` by monitor and bucket start, so a bucket judged again is rewritten in
 * place. Rows travel as JSON parameters (one per chunk within D1's limits), not one parameter per value.
 */
import { getTableName } from "drizzle-orm";
import { chunkRows } from "../db/raw-tables.ts";
import { monitorBuckets } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";
import type { JudgedBucket, MetricBucket } from "../quality/anomaly.ts";

export interface StoredBucket {
  monitorId: string;
  bucket: JudgedBucket;
  /** What the value was measured over (records, rows): later judgements may train on it. */
  rows: number;
}

/** A monitor's judged buckets, each with the rows of its bucket in `series` (the buckets it was judged from). */
export function bucketsOf(monitorId: string, judged: readonly JudgedBucket[], series: readonly MetricBucket[]): StoredBucket[] {
  const measured = new Map(series.map((b) => [new Date(b.startMs).toISOString(), b.rows]));
  return judged.map((bucket) => ({ monitorId, bucket, rows: measured.get(bucket.start) ?? 0 }));
}

export function bucketUpserts(d1: D1Database, buckets: readonly StoredBucket[], now: Date): D1PreparedStatement[] {
  const rows = buckets.map(({ monitorId, bucket: b, rows }) =>
    JSON.stringify([monitorId, b.start, b.end, b.value ?? 0, rows, b.expectedLow, b.expectedHigh, b.z, b.anomalous ? 1 : 0]),
  );
  return chunkRows(rows).map((chunk) => d1.prepare(upsertSql).bind(chunk, now.toISOString()));
}

/** Upserts the buckets in one batch; returns how many. */
export async function storeBuckets(d1: D1Database, buckets: readonly StoredBucket[], now: Date): Promise<number> {
  if (buckets.length === 0) return 0;
  await d1.batch(bucketUpserts(d1, buckets, now));
  return buckets.length;
}

const column = (i: number) => `json_extract(value, '$[${i}]')`;
const upsertSql = `INSERT INTO ${quoteIdent(getTableName(monitorBuckets))}
  (monitor_id, bucket_start, bucket_end, value, rows, expected_low, expected_high, z, anomalous, judged_at)
SELECT ${[0, 1, 2, 3, 4, 5, 6, 7, 8].map(column).join(", ")}, ?2 FROM json_each(?1) WHERE true
ON CONFLICT (monitor_id, bucket_start) DO UPDATE SET bucket_end = excluded.bucket_end, value = excluded.value, rows = excluded.rows,
  expected_low = excluded.expected_low, expected_high = excluded.expected_high, z = excluded.z, anomalous = excluded.anomalous,
  judged_at = excluded.judged_at`;
