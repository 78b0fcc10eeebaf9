/**
 * The statistics of the anomaly model, each small enough to check by hand: the mean and sample
 * standard deviation of a training set, a bucket's z-score and expected range, and the seasonal
 * slot a bucket falls in. Times are UTC epoch milliseconds.
 */

export const hourMs = 3_600_000;
export const dayMs = 24 * hourMs;
export const weekMs = 7 * dayMs;

/** How a bucket is compared with its history: with the same hour of the week, of the day, weekday, or every bucket. */
export type Seasonality = "hour_of_week" | "hour_of_day" | "day_of_week" | "none";

export function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** The sample standard deviation (n − 1), as warehouses' `stddev` computes it; 0 for fewer than two values. */
export function sampleStddev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
}

/**
 * The standard deviation the model divides by. For counts (rows, nulls, distinct values) it is at
 * least √mean, the spread of independent arrivals (Poisson): a handful of samples per seasonal slot
 * can agree by chance far more closely than the data does, and a z-score over such a slot would
 * flag ordinary noise. A training set whose values are all equal has no spread; Sluice then uses
 * 1% of the mean's size, so a ratio that was always 24 flags 23 (z = −4.2) but one that was always
 * 1000 does not flag 1001 (z = 0.1). When every value was 0 it stays 0: any other value is outside
 * the range, and z is not defined (null).
 */
export function effectiveStddev(m: number, sd: number, counts = false): number {
  const floored = counts ? Math.max(sd, Math.sqrt(Math.abs(m))) : sd;
  return floored > 0 ? floored : Math.abs(m) * 0.01;
}

/** (value − mean) / sd, 0 for a value equal to a constant training set, null when nothing varies and the value differs. */
export function zScore(value: number, m: number, sd: number): number | null {
  if (value === m) return 0;
  return sd > 0 ? (value - m) / sd : null;
}

/**
 * mean ± sensitivity · sd. For metrics that cannot be negative (counts, percents, seconds) the low
 * end is clamped to 0, as Elementary clamps it for every metric but min, max, average, sum,
 * standard_deviation and variance.
 */
export function expectedRange(m: number, sd: number, sensitivity: number, nonNegative: boolean): { low: number; high: number } {
  const low = m - sensitivity * sd;
  return { low: nonNegative && low < 0 ? 0 : low, high: m + sensitivity * sd };
}

/** The slot of the cycle a bucket starting at `startMs` falls in (UTC): hour 0–23, weekday 0–6 (Sunday 0), or hour of the week 0–167. */
export function slotOf(seasonality: Seasonality, startMs: number): number {
  const date = new Date(startMs);
  switch (seasonality) {
    case "hour_of_day":
      return date.getUTCHours();
    case "day_of_week":
      return date.getUTCDay();
    case "hour_of_week":
      return date.getUTCDay() * 24 + date.getUTCHours();
    case "none":
      return 0;
  }
}

/** Seasonalities fit for buckets of this length, finest first: Sluice uses the first with enough history. */
export function seasonalityCandidates(bucketMs: number): Seasonality[] {
  if (bucketMs < dayMs && dayMs % bucketMs === 0) return ["hour_of_week", "hour_of_day", "none"];
  if (bucketMs === dayMs) return ["day_of_week", "none"];
  return ["none"];
}

/** A weekly cycle needs weeks of history: its training window is the training period times 7, as in Elementary. */
export function trainingWindowMs(seasonality: Seasonality, trainingMs: number): number {
  return seasonality === "hour_of_week" || seasonality === "day_of_week" ? trainingMs * 7 : trainingMs;
}
