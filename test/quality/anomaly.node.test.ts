/**
 * The anomaly model: each statistic against values computed by hand, the choice of seasonality,
 * direction, filling buckets, silence, and a synthetic hourly series with weekly seasonality and
 * seeded, bounded noise, into which a drop, a spike and a silence are put.
 */
import { describe, expect, it } from "vitest";
import { fillBuckets, judgeSeries, type MetricBucket, type ModelOptions } from "../../src/quality/anomaly.ts";
import {
  dayMs,
  effectiveStddev,
  expectedRange,
  hourMs,
  mean,
  sampleStddev,
  seasonalityCandidates,
  slotOf,
  trainingWindowMs,
  zScore,
} from "../../src/quality/stats.ts";
import { seeded } from "../support/seeded.ts";

const monday = Date.UTC(2024, 0, 1);
const daily = (values: (number | null)[], rows?: number[]): MetricBucket[] =>
  values.map((value, i) => ({ startMs: monday + i * dayMs, value, rows: rows?.[i] ?? value ?? 1 }));
const judgeDaily = (values: (number | null)[], options: Partial<ModelOptions> = {}) =>
  judgeSeries(daily(values), { bucketMs: dayMs, nowMs: monday + values.length * dayMs, seasonality: "none", ...options });

describe("statistics", () => {
  it("mean and sample standard deviation", () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    // Squared deviations 9+1+1+1+0+0+4+16 = 32, over n − 1 = 7.
    expect(sampleStddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleStddev([3])).toBe(0);
  });

  it("z-score, and the zero-variance cases", () => {
    expect(zScore(11, 5, 2)).toBe(3);
    expect(zScore(5, 5, 0)).toBe(0);
    expect(zScore(6, 5, 0)).toBeNull();
    expect(effectiveStddev(24, 0)).toBeCloseTo(0.24, 12);
    expect(effectiveStddev(0, 0)).toBe(0);
    expect(effectiveStddev(100, 2)).toBe(2);
  });

  it("counts spread at least √mean", () => {
    expect(effectiveStddev(100, 2, true)).toBe(10);
    expect(effectiveStddev(100, 12, true)).toBe(12);
    expect(effectiveStddev(0, 0, true)).toBe(0);
  });

  it("a proportion spreads at least binomially, √(p(1−p)/n) over the training buckets' mean rows", () => {
    const week = Array<number>(8).fill(0.1);
    const rows = [...Array<number>(8).fill(100), 100];
    const judged = (value: number, options: Partial<ModelOptions>) =>
      judgeSeries(daily([...week, value], rows), {
        bucketMs: dayMs,
        nowMs: monday + 9 * dayMs,
        seasonality: "none",
        ...options,
      }).at(-1)!;
    // Always 0.1 of 100 rows: sd √(0.1·0.9/100) = 0.03, so the expected range is 0.1 ± 0.09.
    const atEdge = judged(0.18, { proportion: true });
    expect(atEdge.expectedLow).toBeCloseTo(0.01, 12);
    expect(atEdge.expectedHigh).toBeCloseTo(0.19, 12);
    expect(atEdge.z).toBeCloseTo(8 / 3, 12);
    expect(atEdge.anomalous).toBe(false);
    expect(judged(0.2, { proportion: true }).anomalous).toBe(true);
    // Without it, values that were all equal spread 1% of their mean: 0.18 is far out.
    expect(judged(0.18, {}).anomalous).toBe(true);
  });

  it("a metric with a measuring resolution spreads at least that much (minStddev)", () => {
    // A pull's age at the hour's end: 58, 57, 58, 59, 58, 58, 57, 58 minutes. Sample sd ≈ 0.64.
    const ages = [58, 57, 58, 59, 58, 58, 57, 58];
    const judged = (value: number, options: Partial<ModelOptions>) => judgeDaily([...ages, value], options).at(-1)!;
    expect(judged(61, {}).anomalous).toBe(true);
    // With a 5-minute floor: mean 57.875 ± 15, so three minutes late is normal and 73 is not.
    const floored = judged(61, { minStddev: 5 });
    expect(floored.expectedLow).toBeCloseTo(57.875 - 15, 12);
    expect(floored.expectedHigh).toBeCloseTo(57.875 + 15, 12);
    expect(floored.z).toBeCloseTo((61 - 57.875) / 5, 12);
    expect(floored.anomalous).toBe(false);
    expect(judged(73, { minStddev: 5 }).anomalous).toBe(true);
    // A wider spread of its own is kept.
    expect(judged(61, { minStddev: 0.1 }).z).toBeCloseTo((61 - 57.875) / sampleStddev(ages), 12);
  });

  it("expected range, clamped at 0 for metrics that cannot be negative", () => {
    expect(expectedRange(10, 2, 3, false)).toEqual({ low: 4, high: 16 });
    expect(expectedRange(10, 5, 3, false)).toEqual({ low: -5, high: 25 });
    expect(expectedRange(10, 5, 3, true)).toEqual({ low: 0, high: 25 });
  });

  it("seasonal slots in UTC", () => {
    const saturday1530 = Date.UTC(2024, 0, 6, 15, 30);
    expect(slotOf("hour_of_day", saturday1530)).toBe(15);
    expect(slotOf("day_of_week", saturday1530)).toBe(6);
    expect(slotOf("hour_of_week", saturday1530)).toBe(6 * 24 + 15);
    expect(slotOf("none", saturday1530)).toBe(0);
  });

  it("seasonality candidates by bucket length, and the longer window of weekly cycles", () => {
    expect(seasonalityCandidates(hourMs)).toEqual(["hour_of_week", "hour_of_day", "none"]);
    expect(seasonalityCandidates(3 * hourMs)).toEqual(["hour_of_week", "hour_of_day", "none"]);
    expect(seasonalityCandidates(dayMs)).toEqual(["day_of_week", "none"]);
    expect(seasonalityCandidates(7 * dayMs)).toEqual(["none"]);
    expect(trainingWindowMs("day_of_week", 14 * dayMs)).toBe(98 * dayMs);
    expect(trainingWindowMs("hour_of_day", 14 * dayMs)).toBe(14 * dayMs);
  });
});

describe("judging a series", () => {
  const week = [10, 12, 11, 13, 10, 12, 11];

  it("judges a bucket against the buckets before it, never itself", () => {
    const judged = judgeDaily([...week, 30]);
    const last = judged.at(-1)!;
    // Training: the 7 values before it; mean 79/7, squared deviations sum to 60/7 · … computed below.
    const m = 79 / 7;
    const sd = Math.sqrt(week.reduce((s, v) => s + (v - m) ** 2, 0) / 6);
    expect(last).toMatchObject({ start: "2024-01-08T00:00:00.000Z", end: "2024-01-09T00:00:00.000Z", value: 30, trainingSize: 7 });
    expect(last.z).toBeCloseTo((30 - m) / sd, 10);
    expect(last.expectedLow).toBeCloseTo(m - 3 * sd, 10);
    expect(last.expectedHigh).toBeCloseTo(m + 3 * sd, 10);
    expect(last.anomalous).toBe(true);
    expect(last.reason).toBe("z");
  });

  it("needs a week of history and 4 samples before statistics", () => {
    const judged = judgeDaily([10, 12, 11, 13, 10, 12, 11, 12]);
    expect(judged.slice(0, 6).every((b) => b.z === null && b.expectedLow === null && !b.anomalous)).toBe(true);
    expect(judged[6]!.z).not.toBeNull();
    expect(judgeDaily([10, 12, 11, 50], { minSamples: 3 }).at(-1)!.z).toBeNull();
  });

  it("anomaly_sensitivity and anomaly_direction", () => {
    const values = [...week, ...week, 16];
    expect(judgeDaily(values).at(-1)!.anomalous).toBe(true);
    expect(judgeDaily(values, { sensitivity: 5 }).at(-1)!.anomalous).toBe(false);
    expect(judgeDaily(values, { direction: "drop" }).at(-1)!.anomalous).toBe(false);
    expect(judgeDaily(values, { direction: "spike" }).at(-1)!.anomalous).toBe(true);
    const low = [...week, ...week, 5];
    expect(judgeDaily(low, { direction: "spike" }).at(-1)!.anomalous).toBe(false);
    expect(judgeDaily(low, { direction: "drop" }).at(-1)!.anomalous).toBe(true);
  });

  it("a zero-variance training set: equal passes, a change is flagged", () => {
    const flat = Array(8).fill(24) as number[];
    const same = judgeDaily([...flat, 24]).at(-1)!;
    expect(same).toMatchObject({ z: 0, anomalous: false });
    // The spread is 1% of 24: the range is 24 ± 3 · 0.24.
    expect(same.expectedLow).toBeCloseTo(23.28, 10);
    expect(same.expectedHigh).toBeCloseTo(24.72, 10);
    const dropped = judgeDaily([...flat, 23]).at(-1)!;
    expect(dropped.z).toBeCloseTo(-1 / 0.24, 10);
    expect(dropped.anomalous).toBe(true);
    expect(judgeDaily([...Array(8).fill(0), 2]).at(-1)).toMatchObject({ z: null, anomalous: true, expectedLow: 0, expectedHigh: 0 });
  });

  it("buckets still filling are neither judged nor trained on", () => {
    const values = [...week, ...week, 100];
    const judged = judgeSeries(daily(values), { bucketMs: dayMs, nowMs: monday + 14.5 * dayMs, seasonality: "none" });
    expect(judged.at(-1)!.start).toBe("2024-01-14T00:00:00.000Z");
    expect(judged.some((b) => b.anomalous)).toBe(false);
  });

  it("judges only the detection period", () => {
    const judged = judgeDaily([...week, ...week, 30, 12], { detectFromMs: monday + 15 * dayMs });
    expect(judged.map((b) => b.start)).toEqual(["2024-01-16T00:00:00.000Z"]);
  });

  it("day_of_week seasonality when every weekday has 4 samples, else none", () => {
    // Weekdays 100, weekends 20: five weeks, then a Saturday at 100.
    const weekly = [100, 100, 100, 100, 100, 20, 20];
    const judged = judgeDaily([...weekly, ...weekly, ...weekly, ...weekly, 100, 100, 100, 100, 100, 100], {
      seasonality: "auto",
      counts: true,
    });
    expect(judged.filter((b) => b.seasonality === "day_of_week").map((b) => b.start)[0]).toBe("2024-01-29T00:00:00.000Z");
    expect(judged.filter((b) => b.seasonality === "none").length).toBeGreaterThan(0);
    const saturday = judged.at(-1)!;
    expect(saturday).toMatchObject({ start: "2024-02-03T00:00:00.000Z", seasonality: "day_of_week", anomalous: true, trainingSize: 4 });
    // Saturdays were 20, 20, 20, 20: sd 0, so √20 for a count.
    expect(saturday.z).toBeCloseTo(80 / Math.sqrt(20), 10);
  });

  it("flags a silence without statistics, once per silence", () => {
    const rows = [50, 52, 49, 0, 0, 51];
    const judged = judgeSeries(daily(rows), { bucketMs: dayMs, nowMs: monday + 6 * dayMs, silence: true, counts: true });
    expect(judged.map((b) => [b.start.slice(0, 10), b.anomalous, b.reason])).toEqual([
      ["2024-01-02", false, null],
      ["2024-01-03", false, null],
      ["2024-01-04", true, "silence"],
      ["2024-01-05", false, null],
      ["2024-01-06", false, null],
    ]);
    // A quiet source (fewer than 5 rows a bucket) can be empty by chance; a spike-only test ignores silence.
    expect(judgeSeries(daily([2, 3, 0]), { bucketMs: dayMs, nowMs: monday + 3 * dayMs, silence: true }).at(-1)!.anomalous).toBe(false);
    expect(
      judgeSeries(daily(rows), { bucketMs: dayMs, nowMs: monday + 6 * dayMs, silence: true, direction: "spike" }).some((b) => b.anomalous),
    ).toBe(false);
  });

  it("fills the gaps of a sparse series", () => {
    const sparse = new Map([[monday + dayMs, { startMs: monday + dayMs, value: 5, rows: 5 }]]);
    const dense = fillBuckets(sparse, monday, monday + 3 * dayMs, dayMs, (startMs) => ({ startMs, value: 0, rows: 0 }));
    expect(dense.map((b) => b.value)).toEqual([0, 5, 0]);
  });
});

describe("a synthetic hourly series with weekly seasonality", () => {
  const weeks = 8;
  const start = monday;
  /** Weekdays peak at 200 an hour, weekends at 80, nights at 30% of that; noise is ±5%, seeded. */
  function series(seed: number): MetricBucket[] {
    const random = seeded(seed);
    return Array.from({ length: weeks * 7 * 24 }, (_, i) => {
      const startMs = start + i * hourMs;
      const date = new Date(startMs);
      const base = date.getUTCDay() === 0 || date.getUTCDay() === 6 ? 80 : 200;
      const profile = 0.3 + 0.7 * Math.max(0, Math.sin(((date.getUTCHours() - 6) / 16) * Math.PI));
      const value = Math.round(base * profile * (1 + (random() - 0.5) * 0.1));
      return { startMs, value, rows: value };
    });
  }
  const options = { bucketMs: hourMs, nowMs: start + weeks * 7 * dayMs, counts: true, nonNegative: true, silence: true };
  const at = (day: number, hour: number) => start + day * dayMs + hour * hourMs;
  const indexOf = (ms: number) => (ms - start) / hourMs;

  it.each([1, 2, 3, 4, 5])("seed %i: at default sensitivity no bucket of the normal weeks is flagged", (seed) => {
    const judged = judgeSeries(series(seed), options);
    expect(judged.length).toBe(weeks * 7 * 24 - 1);
    expect(judged.filter((b) => b.anomalous)).toEqual([]);
    expect(judged.at(-1)!.seasonality).toBe("hour_of_week");
  });

  it.each([1, 2, 3])("seed %i: a drop to 10% for three hours, a spike and a silence are each flagged within one bucket", (seed) => {
    const buckets = series(seed);
    const set = (ms: number, value: number) => {
      buckets[indexOf(ms)] = { startMs: ms, value, rows: value };
    };
    // Week 6, Tuesday 10:00–13:00: a tenth of the volume.
    const drop = [at(36, 10), at(36, 11), at(36, 12)];
    for (const ms of drop) set(ms, Math.round(buckets[indexOf(ms)]!.value! * 0.1));
    // Week 7, Thursday 15:00: three times the volume.
    const spike = at(45, 15);
    set(spike, buckets[indexOf(spike)]!.value! * 3);
    // Week 8, Wednesday 09:00–14:00: nothing at all.
    const silence = [0, 1, 2, 3, 4].map((h) => at(51, 9 + h));
    for (const ms of silence) set(ms, 0);

    const flagged = judgeSeries(buckets, options).filter((b) => b.anomalous);
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(flagged.map((b) => b.start)).toEqual([...drop.map(iso), iso(spike), iso(silence[0]!)]);
    expect(flagged.map((b) => b.reason)).toEqual(["z", "z", "z", "z", "z"]);
    expect(flagged[0]!.expectedLow).toBeGreaterThan(flagged[0]!.value!);
    expect(flagged[3]!.expectedHigh).toBeLessThan(flagged[3]!.value!);
  });
});
