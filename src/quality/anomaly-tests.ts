/**
 * Anomaly tests as dbt generic tests, with Elementary's names and arguments:
 * `sluice.volume_anomalies`, `sluice.freshness_anomalies`, `sluice.column_anomalies` and
 * `sluice.dimension_anomalies` (`elementary.<name>` is the same test). In: a test's YAML arguments,
 * checked at compile time. Out: the test's spec, kept in the manifest, and the SQL that computes
 * its metric per time bucket on D1; the Worker judges the buckets (run-anomaly-test.ts).
 */
import { z } from "zod";
import { isIdentifier, quoteIdent } from "../lib/sql.ts";

export const anomalyTestNames = ["volume_anomalies", "freshness_anomalies", "column_anomalies", "dimension_anomalies"] as const;
export type AnomalyTestName = (typeof anomalyTestNames)[number];

/** Elementary's column monitors that Sluice computes; the first two are the default. */
export const columnMetrics = [
  "null_count",
  "null_percent",
  "not_null_percent",
  "missing_count",
  "missing_percent",
  "min_length",
  "max_length",
  "average_length",
  "min",
  "max",
  "average",
  "sum",
  "zero_count",
  "zero_percent",
  "not_zero_percent",
  "standard_deviation",
  "variance",
  "distinct_count",
  "distinct_percent",
] as const;
export type ColumnMetric = (typeof columnMetrics)[number];

/** Metrics that may be negative; every other metric's expected low is clamped to 0, as in Elementary. */
export const signedMetrics: ReadonlySet<string> = new Set(["min", "max", "average", "sum", "standard_deviation", "variance"]);

const periodSchema = z.object({ period: z.enum(["hour", "day", "week"]), count: z.number().int().positive() }).strict();
export type Period = z.infer<typeof periodSchema>;

export const anomalySpecSchema = z.object({
  test: z.enum(anomalyTestNames),
  timestampColumn: z.string(),
  column: z.string().optional(),
  metrics: z.array(z.enum(columnMetrics)).optional(),
  dimensions: z.array(z.string()).optional(),
  timeBucket: periodSchema,
  trainingPeriod: periodSchema,
  detectionPeriod: periodSchema,
  seasonality: z.enum(["auto", "hour_of_week", "hour_of_day", "day_of_week", "none"]),
  sensitivity: z.number().positive(),
  direction: z.enum(["both", "spike", "drop"]),
  whereExpression: z.string().optional(),
});
export type AnomalySpec = z.infer<typeof anomalySpecSchema>;

/** A flagged bucket, as a run result lists it. */
export interface BucketAnomaly {
  start: string;
  end: string;
  value: number | null;
  expectedLow: number | null;
  expectedHigh: number | null;
  z: number | null;
  reason: "z" | "silence" | null;
  /** column_anomalies: the monitor; dimension_anomalies: the dimension value. */
  metric?: string;
  dimension?: string;
}

/** `sluice.volume_anomalies` or `elementary.volume_anomalies` → `volume_anomalies`; anything else undefined. */
export function anomalyTestOf(name: string): AnomalyTestName | undefined {
  const match = /^(sluice|elementary)\.(\w+)$/.exec(name);
  return match && (anomalyTestNames as readonly string[]).includes(match[2]!) ? (match[2] as AnomalyTestName) : undefined;
}

/** A bad argument: the key it is under (for its line) and what is wrong. */
export class AnomalyArgumentError extends Error {
  readonly key: string | undefined;
  constructor(key: string | undefined, message: string) {
    super(message);
    this.key = key;
  }
}

const common = [
  "timestamp_column",
  "time_bucket",
  "training_period",
  "detection_period",
  "seasonality",
  "anomaly_sensitivity",
  "anomaly_direction",
  "where_expression",
];
const extra: Record<AnomalyTestName, string[]> = {
  volume_anomalies: [],
  freshness_anomalies: [],
  column_anomalies: ["column_anomalies", "column_name"],
  dimension_anomalies: ["dimensions"],
};
/** Elementary arguments Sluice does not act on yet: refused, never ignored. */
const notYet = new Set([
  "detection_delay",
  "ignore_small_changes",
  "anomaly_exclude_metrics",
  "exclude_detection_period_from_training",
  "fail_on_zero",
  "min_training_set_size",
  "days_back",
  "backfill_days",
  "event_timestamp_column",
  "update_timestamp_column",
  "exclude_final_results",
]);

/** Checks a test's arguments (after `arguments:` is merged in) and gives its spec, with Elementary's defaults. */
export function anomalySpec(test: AnomalyTestName, args: Record<string, unknown>): AnomalySpec {
  const accepted = [...common, ...extra[test]];
  for (const key of Object.keys(args)) {
    if (accepted.includes(key)) continue;
    if (key === "column_name")
      throw new AnomalyArgumentError(undefined, `${test} is a model test: declare it under the model's data_tests, not a column's`);
    if (notYet.has(key)) throw new AnomalyArgumentError(key, `Sluice does not support ${key} yet`);
    throw new AnomalyArgumentError(
      key,
      `unknown argument ${key} (${test} takes ${accepted.filter((k) => k !== "column_name").join(", ")})`,
    );
  }
  const timestampColumn = args.timestamp_column;
  if (timestampColumn === undefined)
    throw new AnomalyArgumentError(
      undefined,
      "needs timestamp_column (Sluice buckets the rows by it; tests without one compare runs, which Sluice does not keep yet)",
    );
  const identifier = (key: string, value: unknown) => {
    if (typeof value !== "string" || !isIdentifier(value))
      throw new AnomalyArgumentError(key, `${key} must be a column name, got ${JSON.stringify(value)}`);
    return value;
  };
  const timeBucket = period("time_bucket", args.time_bucket, { period: "day", count: 1 });
  const spec: AnomalySpec = {
    test,
    timestampColumn: identifier("timestamp_column", timestampColumn),
    timeBucket,
    trainingPeriod: period("training_period", args.training_period, { period: "day", count: 14 }),
    detectionPeriod: period("detection_period", args.detection_period, { period: "day", count: 2 }),
    seasonality: seasonality(args.seasonality, timeBucket),
    sensitivity: sensitivity(args.anomaly_sensitivity),
    direction: oneOf(
      "anomaly_direction",
      args.anomaly_direction,
      ["both", "spike", "drop"],
      test === "freshness_anomalies" ? "spike" : "both",
    ),
  };
  if (args.where_expression !== undefined) {
    if (typeof args.where_expression !== "string")
      throw new AnomalyArgumentError("where_expression", "where_expression must be a SQL condition (a string)");
    spec.whereExpression = args.where_expression;
  }
  if (test === "column_anomalies") {
    if (args.column_name === undefined)
      throw new AnomalyArgumentError(undefined, "column_anomalies goes under a column's data_tests (or names its column_name)");
    spec.column = identifier("column_name", args.column_name);
    const metrics = args.column_anomalies ?? ["null_count", "null_percent"];
    if (!Array.isArray(metrics) || metrics.length === 0)
      throw new AnomalyArgumentError("column_anomalies", "column_anomalies must be a list of monitors, such as [null_count, average]");
    for (const metric of metrics)
      if (!(columnMetrics as readonly unknown[]).includes(metric))
        throw new AnomalyArgumentError(
          "column_anomalies",
          `unknown column monitor ${JSON.stringify(metric)} (Sluice computes ${columnMetrics.join(", ")})`,
        );
    spec.metrics = metrics as ColumnMetric[];
  }
  if (test === "dimension_anomalies") {
    const dimensions = args.dimensions;
    if (!Array.isArray(dimensions) || dimensions.length === 0)
      throw new AnomalyArgumentError(dimensions === undefined ? undefined : "dimensions", "needs dimensions: a list of column names");
    spec.dimensions = dimensions.map((d) => identifier("dimensions", d));
  }
  return spec;
}

function period(key: string, value: unknown, fallback: Period): Period {
  if (value === undefined) return fallback;
  const parsed = periodSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const given = value as { period?: unknown; count?: unknown } | null;
  if (given === null || typeof given !== "object" || Array.isArray(given))
    throw new AnomalyArgumentError(key, `${key} must be {period: hour|day|week, count: N}, got ${JSON.stringify(value)}`);
  if (!["hour", "day", "week"].includes(given.period as string))
    throw new AnomalyArgumentError(key, `${key}.period must be hour, day or week, got ${JSON.stringify(given.period)}`);
  if (!Number.isInteger(given.count) || (given.count as number) < 1)
    throw new AnomalyArgumentError(key, `${key}.count must be a whole number of periods (1 or more), got ${JSON.stringify(given.count)}`);
  throw new AnomalyArgumentError(key, `${key} takes only period and count`);
}

function seasonality(value: unknown, bucket: Period): AnomalySpec["seasonality"] {
  const chosen = oneOf("seasonality", value, ["auto", "hour_of_week", "hour_of_day", "day_of_week", "none"], "auto");
  if ((chosen === "hour_of_day" || chosen === "hour_of_week") && !(bucket.period === "hour" && 24 % bucket.count === 0))
    throw new AnomalyArgumentError(
      "seasonality",
      `seasonality ${chosen} needs hourly buckets (time_bucket: {period: hour, count: 1, 2, 3, 4, 6, 8 or 12})`,
    );
  if (chosen === "day_of_week" && !(bucket.period === "day" && bucket.count === 1))
    throw new AnomalyArgumentError("seasonality", "seasonality day_of_week needs daily buckets (time_bucket: {period: day, count: 1})");
  return chosen;
}

function sensitivity(value: unknown): number {
  if (value === undefined) return 3;
  if (typeof value !== "number" || !(value > 0))
    throw new AnomalyArgumentError("anomaly_sensitivity", `anomaly_sensitivity must be a positive number, got ${JSON.stringify(value)}`);
  return value;
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T))
    throw new AnomalyArgumentError(key, `${key} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  return value as T;
}

const periodSeconds = { hour: 3600, day: 86_400, week: 604_800 } as const;

/** A period's length in milliseconds. */
export const periodMs = (p: Period) => periodSeconds[p.period] * p.count * 1000;

/** Where buckets start, in epoch seconds: hours and days at UTC midnight, weeks on Monday (1970-01-05). */
export const bucketOrigin = (bucket: Period) => (bucket.period === "week" ? 345_600 : 0);

/**
 * The SQL that measures the test's metric per bucket of `timestamp_column` (ISO text, a date, or
 * epoch seconds), over `relation` (a Jinja expression) filtered by the `where` config and the
 * `where_expression` argument. Columns: `bucket` (start, epoch seconds), `n` (rows), and per test
 * `last_ts`/`gap` (freshness), `dimension`, or one `m_<monitor>` per column monitor.
 */
export function anomalyMetricSql(spec: AnomalySpec, relation: string, where: string | undefined): string {
  const ts = quoteIdent(spec.timestampColumn);
  const seconds = `case when typeof(${ts}) in ('integer', 'real') then cast(${ts} as integer) else cast(strftime('%s', ${ts}) as integer) end`;
  const size = periodSeconds[spec.timeBucket.period] * spec.timeBucket.count;
  const origin = bucketOrigin(spec.timeBucket);
  // Whole buckets: Sluice's `/` divides exactly (the dialect layer), so the quotient is cut explicitly.
  const bucket = (of: string) => `cast((${of} - ${origin}) / ${size} as integer) * ${size} + ${origin}`;
  // Conditions on lines of their own, so a trailing `--` comment in one cannot swallow the query.
  const conditions = [where, spec.whereExpression].filter((c): c is string => c !== undefined).map((c) => `(${c}\n)`);
  const source = `select *, ${seconds} as sluice_ts from {{ ${relation} }}${conditions.length ? `\nwhere ${conditions.join(" and ")}` : ""}`;
  const rows = `(${source}\n) as sluice_rows where sluice_ts is not null`;
  switch (spec.test) {
    case "volume_anomalies":
      return `select ${bucket("sluice_ts")} as bucket, count(*) as n\nfrom ${rows}\ngroup by 1 order by 1`;
    case "freshness_anomalies":
      return (
        `select ${bucket("sluice_ts")} as bucket, count(*) as n, max(sluice_ts) as last_ts, max(sluice_ts - sluice_prev) as gap\n` +
        `from (select sluice_ts, lag(sluice_ts) over (order by sluice_ts) as sluice_prev from ${rows}) as sluice_gaps\ngroup by 1 order by 1`
      );
    case "dimension_anomalies": {
      const dimension = spec.dimensions!.map((d) => `coalesce(cast(${quoteIdent(d)} as text), 'NULL')`).join(" || '; ' || ");
      return `select ${bucket("sluice_ts")} as bucket, ${dimension} as dimension, count(*) as n\nfrom ${rows}\ngroup by 1, 2 order by 1, 2`;
    }
    case "column_anomalies": {
      const metrics = spec.metrics!.map((metric) => `${columnMetricSql(metric, quoteIdent(spec.column!))} as m_${metric}`);
      return `select ${bucket("sluice_ts")} as bucket, count(*) as n, ${metrics.join(", ")}\nfrom ${rows}\ngroup by 1 order by 1`;
    }
  }
}

/** One column monitor over a bucket's rows. Standard deviation and variance come back as `sum|sum of squares|count`, finished in the Worker. */
function columnMetricSql(metric: ColumnMetric, c: string): string {
  const percent = (condition: string) => `100.0 * sum(case when ${condition} then 1 else 0 end) / count(*)`;
  const missing = `${c} is null or trim(cast(${c} as text)) = ''`;
  switch (metric) {
    case "null_count":
      return `sum(case when ${c} is null then 1 else 0 end)`;
    case "null_percent":
      return percent(`${c} is null`);
    case "not_null_percent":
      return percent(`${c} is not null`);
    case "missing_count":
      return `sum(case when ${missing} then 1 else 0 end)`;
    case "missing_percent":
      return percent(missing);
    case "min_length":
      return `min(length(${c}))`;
    case "max_length":
      return `max(length(${c}))`;
    case "average_length":
      return `avg(length(${c}))`;
    case "min":
      return `min(${c})`;
    case "max":
      return `max(${c})`;
    case "average":
      return `avg(${c})`;
    case "sum":
      return `sum(${c})`;
    case "zero_count":
      return `sum(case when ${c} = 0 then 1 else 0 end)`;
    case "zero_percent":
      return percent(`${c} = 0`);
    case "not_zero_percent":
      return percent(`${c} is null or ${c} <> 0`);
    case "standard_deviation":
    case "variance":
      return `sum(${c}) || '|' || sum(${c} * ${c}) || '|' || count(${c})`;
    case "distinct_count":
      return `count(distinct ${c})`;
    case "distinct_percent":
      return `100.0 * count(distinct ${c}) / count(*)`;
  }
}
