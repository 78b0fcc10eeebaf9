/**
 * Running an anomaly test. In: the test's spec and its compiled metric SQL (anomaly-tests.ts).
 * Out: the flagged buckets of the detection period, and every bucket judged, per series, for the
 * test's monitors (ops/test-monitors.ts). D1 measures the metric per bucket; here the buckets
 * become dense series (one per column monitor or dimension value, gaps filled up to the bucket
 * still filling), which the model judges.
 */
import { fillBuckets, type JudgedBucket, judgeSeries, type MetricBucket, type ModelOptions } from "./anomaly.ts";
import { type AnomalySpec, type BucketAnomaly, bucketOrigin, periodMs, signedMetrics } from "./anomaly-tests.ts";

/** A run result lists at most this many anomalies (its failure count has them all). */
export const maxListedAnomalies = 1000;

interface MetricRow {
  bucket: number;
  n: number;
  last_ts?: number;
  gap?: number | null;
  dimension?: string;
  [monitor: string]: unknown;
}

/** One judged series of a test: the whole test, one column monitor (`metric`) or one dimension value. */
export interface JudgedSeries {
  label: Pick<BucketAnomaly, "metric" | "dimension">;
  /** The buckets of the detection period the model judged. */
  judged: JudgedBucket[];
  /** The series they were judged from (with each bucket's rows). */
  buckets: MetricBucket[];
}

export interface AnomalyTestOutcome {
  failures: number;
  anomalies: BucketAnomaly[];
  series: JudgedSeries[];
}

export async function runAnomalyTest(db: D1Database, spec: AnomalySpec, sql: string, nowMs: number): Promise<AnomalyTestOutcome> {
  const { results } = await db.prepare(sql).all<MetricRow>();
  const bucketMs = periodMs(spec.timeBucket);
  const originMs = bucketOrigin(spec.timeBucket) * 1000;
  // The bucket holding `now` is still filling: the series ends where it starts.
  const untilMs = Math.floor((nowMs - originMs) / bucketMs) * bucketMs + originMs;
  const firstMs = Math.min(...results.map((row) => Number(row.bucket) * 1000));
  const options: ModelOptions = {
    bucketMs,
    nowMs: untilMs,
    trainingMs: periodMs(spec.trainingPeriod),
    detectFromMs: untilMs - periodMs(spec.detectionPeriod),
    sensitivity: spec.sensitivity,
    direction: spec.direction,
    seasonality: spec.seasonality,
    nonNegative: true,
  };
  const series: JudgedSeries[] = [];
  const judge = (buckets: MetricBucket[], extra: Partial<ModelOptions>, label: JudgedSeries["label"] = {}) => {
    const judged = judgeSeries(buckets, { ...options, ...extra });
    series.push({ label, judged, buckets });
    return judged
      .filter((b) => b.anomalous)
      .map(({ start, end, value, expectedLow, expectedHigh, z, reason }) => ({
        start,
        end,
        value,
        expectedLow,
        expectedHigh,
        z,
        reason,
        ...label,
      }));
  };
  const dense = (rows: MetricRow[], value: (row: MetricRow) => number | null, empty: number | null) =>
    fillBuckets(
      new Map(
        rows.map((row) => [Number(row.bucket) * 1000, { startMs: Number(row.bucket) * 1000, value: value(row), rows: Number(row.n) }]),
      ),
      firstMs,
      untilMs,
      bucketMs,
      (startMs) => ({ startMs, value: empty, rows: 0 }),
    );

  let anomalies: BucketAnomaly[] = [];
  if (results.length > 0) {
    switch (spec.test) {
      case "volume_anomalies":
        anomalies = judge(
          dense(results, (row) => Number(row.n), 0),
          { counts: true, silence: true },
        );
        break;
      case "freshness_anomalies":
        anomalies = judge(
          freshness(
            dense(results, () => null, null),
            results,
            bucketMs,
          ),
          {},
        );
        break;
      case "dimension_anomalies": {
        const byValue = new Map<string, MetricRow[]>();
        for (const row of results) byValue.set(String(row.dimension), [...(byValue.get(String(row.dimension)) ?? []), row]);
        for (const [dimension, rows] of [...byValue.entries()].sort(([a], [b]) => a.localeCompare(b)))
          anomalies.push(
            ...judge(
              dense(rows, (row) => Number(row.n), 0),
              { counts: true, silence: true },
              { dimension },
            ),
          );
        break;
      }
      case "column_anomalies":
        for (const metric of spec.metrics ?? [])
          anomalies.push(
            ...judge(
              dense(results, (row) => monitorValue(metric, row[`m_${metric}`]), null),
              { counts: metric.endsWith("_count"), nonNegative: !signedMetrics.has(metric) },
              { metric },
            ),
          );
        break;
    }
  }
  anomalies.sort((a, b) => a.start.localeCompare(b.start));
  return { failures: anomalies.length, anomalies: anomalies.slice(0, maxListedAnomalies), series };
}

/**
 * Freshness per bucket, as Elementary measures it: the longest the table went without a new row,
 * seen at any moment of the bucket, in seconds: the largest gap between rows that ends in it, or
 * the time from the last row up to the bucket's end, whichever is longer.
 */
function freshness(series: MetricBucket[], rows: MetricRow[], bucketMs: number): MetricBucket[] {
  const byStart = new Map(rows.map((row) => [Number(row.bucket) * 1000, row]));
  let lastMs = Number.NEGATIVE_INFINITY;
  return series.map((bucket) => {
    const row = byStart.get(bucket.startMs);
    if (row?.last_ts !== undefined) lastMs = Math.max(lastMs, Number(row.last_ts) * 1000);
    const sinceLast = (bucket.startMs + bucketMs - lastMs) / 1000;
    return { ...bucket, value: Math.max(sinceLast, row?.gap == null ? 0 : Number(row.gap)) };
  });
}

/** A column monitor's value from its SQL: a number, or standard deviation / variance finished from `sum|sum of squares|count`. */
function monitorValue(metric: string, raw: unknown): number | null {
  if (raw === null || raw === undefined) return null;
  if (metric !== "standard_deviation" && metric !== "variance") return Number(raw);
  const [sum, squares, count] = String(raw).split("|").map(Number) as [number, number, number];
  if (count < 2) return null;
  const variance = Math.max(0, (squares - (sum * sum) / count) / (count - 1));
  return metric === "variance" ? variance : Math.sqrt(variance);
}
