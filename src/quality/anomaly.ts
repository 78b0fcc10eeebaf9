/**
 * The anomaly model: a metric's time buckets in, judged buckets out. Each complete bucket is
 * compared with a rolling training window of the buckets before it (never itself): its z-score
 * against their mean and sample standard deviation, within the same seasonal slot. Seasonality is
 * chosen per bucket by the history available (see `judgeSeries`). A bucket is anomalous when its
 * z-score passes the sensitivity in the direction asked for, or when it is silent (no rows) where
 * its slot always had rows, which needs no statistics. Pure: no I/O, no clock.
 */
import {
  dayMs,
  effectiveStddev,
  expectedRange,
  mean,
  type Seasonality,
  sampleStddev,
  seasonalityCandidates,
  slotOf,
  trainingWindowMs,
  weekMs,
  zScore,
} from "./stats.ts";

export type Direction = "both" | "spike" | "drop";

/** One bucket of a metric: its start, its value (null: not measurable, e.g. an average over no rows) and its row count. */
export interface MetricBucket {
  startMs: number;
  value: number | null;
  rows: number;
}

export interface ModelOptions {
  bucketMs: number;
  /** The rolling training window before each bucket (×7 for weekly seasonalities). Default 14 days. */
  trainingMs?: number;
  /** How many standard deviations from the mean are still normal. Default 3. */
  sensitivity?: number;
  direction?: Direction;
  /** `auto` (default): the finest seasonality whose every slot has `minSamples` values in the window. */
  seasonality?: Seasonality | "auto";
  /** Values needed in every slot before a bucket is judged by statistics. Default 4. */
  minSamples?: number;
  /** Buckets ending after this are still filling: neither judged nor trained on. */
  nowMs: number;
  /** Judge only buckets starting at or after this (the detection period); earlier ones only train. */
  detectFromMs?: number;
  /** The metric cannot be negative (counts, percents, seconds): the expected low is clamped to 0. */
  nonNegative?: boolean;
  /** The metric counts things (rows, nulls, distinct values): its spread is at least √mean (see `effectiveStddev`). */
  counts?: boolean;
  /**
   * The metric is a share of the bucket's rows (quarantined of received): its spread is at least the
   * binomial √(p(1−p)/n), n the mean rows of the training buckets, so a few quiet hours that agree
   * by chance do not make one more rejection anomalous.
   */
  proportion?: boolean;
  /**
   * The smallest spread the metric can have, in its own unit: below it, differences are the noise of
   * how it is measured, not a change. Freshness in minutes has one: loads start a few minutes early or
   * late, so an hourly pull whose age at the hour's end was 58 minutes six weeks running must not flag 61.
   */
  minStddev?: number;
  /** Flag silence (a bucket with no rows where the slot always had rows), even without statistics. */
  silence?: boolean;
}

export interface JudgedBucket {
  start: string;
  end: string;
  value: number | null;
  /** mean ± sensitivity·sd of the training set; null when the history is too short for statistics. */
  expectedLow: number | null;
  expectedHigh: number | null;
  z: number | null;
  anomalous: boolean;
  /** The seasonality the statistics used; null without statistics. */
  seasonality: Seasonality | null;
  trainingSize: number;
  /** Why it is anomalous: its z-score, or a silence. */
  reason: "z" | "silence" | null;
}

export const modelDefaults = { trainingMs: 14 * dayMs, sensitivity: 3, direction: "both", minSamples: 4 } as const;

/** A silent bucket is flagged when its slot averaged at least this many rows: fewer, and an empty bucket happens by chance (e^-5 < 1%). */
export const silenceMinRows = 5;

/**
 * Judges every complete bucket of the detection period. `buckets` must be dense (one per bucket
 * length, gaps filled by the caller: 0 rows for counts). Statistics need a week of history before
 * the bucket (so a first weekend is not mistaken for a drop) and `minSamples` values in every slot
 * of the chosen seasonality. A silence is one anomaly: once an empty bucket is flagged, the empty
 * buckets that follow it are judged but not flagged again, until rows arrive.
 */
export function judgeSeries(buckets: readonly MetricBucket[], options: ModelOptions): JudgedBucket[] {
  const { bucketMs, nowMs } = options;
  const trainingMs = options.trainingMs ?? modelDefaults.trainingMs;
  const sensitivity = options.sensitivity ?? modelDefaults.sensitivity;
  const direction = options.direction ?? modelDefaults.direction;
  const minSamples = options.minSamples ?? modelDefaults.minSamples;
  const complete = [...buckets].sort((a, b) => a.startMs - b.startMs).filter((b) => b.startMs + bucketMs <= nowMs);
  if (complete.length === 0) return [];
  const candidates =
    options.seasonality === undefined || options.seasonality === "auto" ? seasonalityCandidates(bucketMs) : [options.seasonality];
  const slots = new Map(candidates.map((s) => [s, slotIndex(complete, s)]));
  const seriesStart = complete[0]!.startMs;
  const judged: JudgedBucket[] = [];
  let inSilence = false;

  for (const [i, bucket] of complete.entries()) {
    if (i === 0 || bucket.startMs < (options.detectFromMs ?? Number.NEGATIVE_INFINITY)) continue;
    let chosen: { seasonality: Seasonality; values: number[] } | undefined;
    let slotHistory: MetricBucket[] | undefined;
    for (const seasonality of candidates) {
      const from = bucket.startMs - trainingWindowMs(seasonality, trainingMs);
      const bySlot = slots.get(seasonality)!;
      const inSlot = between(complete, bySlot.get(slotOf(seasonality, bucket.startMs)) ?? [], from, i);
      if (inSlot.length > 0) slotHistory ??= inSlot;
      const ready =
        bucket.startMs - seriesStart >= weekMs &&
        [...bySlot.values()].every((indexes) => between(complete, indexes, from, i).filter((b) => b.value !== null).length >= minSamples);
      if (ready) {
        chosen = { seasonality, values: inSlot.flatMap((b) => (b.value === null ? [] : [b.value])) };
        slotHistory = inSlot;
        break;
      }
    }
    if (bucket.value === null) continue;

    let verdict: Omit<JudgedBucket, "start" | "end" | "value" | "anomalous" | "reason"> = {
      expectedLow: null,
      expectedHigh: null,
      z: null,
      seasonality: null,
      trainingSize: chosen?.values.length ?? slotHistory?.length ?? 0,
    };
    let outside = false;
    if (chosen) {
      const m = mean(chosen.values);
      let sd = effectiveStddev(m, sampleStddev(chosen.values), options.counts === true);
      if (options.proportion === true && slotHistory) sd = Math.max(sd, binomialStddev(m, mean(slotHistory.map((b) => b.rows))));
      sd = Math.max(sd, options.minStddev ?? 0);
      const z = zScore(bucket.value, m, sd);
      const { low, high } = expectedRange(m, sd, sensitivity, options.nonNegative === true);
      verdict = { expectedLow: low, expectedHigh: high, z, seasonality: chosen.seasonality, trainingSize: chosen.values.length };
      const up = z === null ? bucket.value > m : z > sensitivity;
      const down = z === null ? bucket.value < m : z < -sensitivity;
      outside = (up && direction !== "drop") || (down && direction !== "spike");
    }
    const silent =
      options.silence === true &&
      bucket.rows === 0 &&
      direction !== "spike" &&
      slotHistory?.every((b) => b.rows > 0) === true &&
      mean(slotHistory.map((b) => b.rows)) >= silenceMinRows;
    let anomalous = outside || silent;
    if (options.silence === true && bucket.rows === 0) {
      if (inSilence) anomalous = false;
      else if (anomalous) inSilence = true;
    } else inSilence = false;
    judged.push({
      start: new Date(bucket.startMs).toISOString(),
      end: new Date(bucket.startMs + bucketMs).toISOString(),
      value: bucket.value,
      ...verdict,
      anomalous,
      reason: anomalous ? (outside ? "z" : "silence") : null,
    });
  }
  return judged;
}

function binomialStddev(p: number, n: number): number {
  return n > 0 && p > 0 && p < 1 ? Math.sqrt((p * (1 - p)) / n) : 0;
}

/** For one seasonality: each slot's bucket indexes, in time order. */
function slotIndex(buckets: readonly MetricBucket[], seasonality: Seasonality): Map<number, number[]> {
  const bySlot = new Map<number, number[]>();
  for (const [i, bucket] of buckets.entries()) {
    const slot = slotOf(seasonality, bucket.startMs);
    const list = bySlot.get(slot);
    if (list) list.push(i);
    else bySlot.set(slot, [i]);
  }
  return bySlot;
}

/** The buckets of `indexes` that start at or after `fromMs` and come before bucket `before`. */
function between(buckets: readonly MetricBucket[], indexes: readonly number[], fromMs: number, before: number): MetricBucket[] {
  let lo = 0;
  let hi = indexes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (buckets[indexes[mid]!]!.startMs < fromMs) lo = mid + 1;
    else hi = mid;
  }
  const found: MetricBucket[] = [];
  for (let k = lo; k < indexes.length && indexes[k]! < before; k++) found.push(buckets[indexes[k]!]!);
  return found;
}

/**
 * A dense series from sparse buckets: one bucket every `bucketMs` from `fromMs` up to (not
 * including) `untilMs`, the missing ones made by `empty`.
 */
export function fillBuckets(
  sparse: ReadonlyMap<number, MetricBucket>,
  fromMs: number,
  untilMs: number,
  bucketMs: number,
  empty: (startMs: number) => MetricBucket,
): MetricBucket[] {
  const dense: MetricBucket[] = [];
  for (let start = fromMs; start < untilMs; start += bucketMs) dense.push(sparse.get(start) ?? empty(start));
  return dense;
}
