/**
 * Where a monitor chart's marks go: judged buckets in, coordinates and axis labels out. Pure (no
 * I/O, no clock, no JSX), so the picture's arithmetic is tested apart from its markup. Each bucket
 * is drawn at its midpoint; the expected band runs from the first bucket's start to the last one's
 * end of every run of buckets whose bounds are known, so a bucket judged without statistics (too
 * little history) leaves a gap in the band, as a gap in time (buckets not judged) breaks the line.
 */

/** A judged bucket as charts read it from `_sluice_monitor_buckets`, whatever the monitor's kind. */
export interface ChartBucket {
  start: string;
  end: string;
  value: number;
  expectedLow: number | null;
  expectedHigh: number | null;
  z: number | null;
  anomalous: boolean;
}

export interface ChartSize {
  width: number;
  height: number;
  /** A dashboard thumbnail: fewer labels, no dot per bucket. */
  compact: boolean;
}

export type Point = readonly [x: number, y: number];

export interface ChartGeometry {
  plot: { left: number; top: number; right: number; bottom: number };
  x(ms: number): number;
  y(value: number): number;
  /** One polygon per run of buckets with both bounds: the high edge left to right, then the low edge back. */
  bands: Point[][];
  /** One polyline per run of two or more contiguous buckets. */
  lines: Point[][];
  /** Every bucket at its midpoint, in order; `alone` when no line reaches it (no contiguous neighbour). */
  points: { at: Point; bucket: ChartBucket; alone: boolean }[];
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
}

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
// Weeks start on Monday: the epoch was a Thursday.
const mondayMs = 4 * dayMs;
const tickSteps = [
  hourMs,
  2 * hourMs,
  3 * hourMs,
  6 * hourMs,
  12 * hourMs,
  dayMs,
  2 * dayMs,
  7 * dayMs,
  14 * dayMs,
  28 * dayMs,
  91 * dayMs,
];
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Coordinates are written with one decimal: finer is invisible and only makes the page longer. */
const round = (n: number) => Math.round(n * 10) / 10;

export function chartGeometry(buckets: readonly ChartBucket[], size: ChartSize): ChartGeometry {
  const plot = size.compact
    ? { left: 34, top: 6, right: size.width - 6, bottom: size.height - 16 }
    : { left: 56, top: 12, right: size.width - 16, bottom: size.height - 28 };
  const times = buckets.flatMap((b) => [Date.parse(b.start), Date.parse(b.end)]);
  const [t0, t1] = times.length ? [Math.min(...times), Math.max(...times)] : [0, hourMs];
  const values = buckets.flatMap((b) => [b.value, b.expectedLow, b.expectedHigh].filter((v): v is number => v !== null));
  const ticks = valueTicks(values, size.compact ? 3 : 5);
  const [v0, v1] = [ticks[0]!, ticks[ticks.length - 1]!];
  const x = (ms: number) => round(plot.left + ((ms - t0) / (t1 - t0 || 1)) * (plot.right - plot.left));
  const y = (value: number) => round(plot.bottom - ((value - v0) / (v1 - v0)) * (plot.bottom - plot.top));

  const mid = (b: ChartBucket) => (Date.parse(b.start) + Date.parse(b.end)) / 2;
  const lineRuns = runs(buckets, () => true);
  const alone = new Set(lineRuns.filter((run) => run.length === 1).map((run) => run[0]));
  const points = buckets.map((bucket) => ({ at: [x(mid(bucket)), y(bucket.value)] as Point, bucket, alone: alone.has(bucket) }));
  const lines = lineRuns.filter((run) => run.length > 1).map((run) => run.map((b) => [x(mid(b)), y(b.value)] as Point));
  const bands = runs(buckets, (b) => b.expectedLow !== null && b.expectedHigh !== null).map((run) => {
    const edge = (bound: (b: ChartBucket) => number): Point[] => [
      [x(Date.parse(run[0]!.start)), y(bound(run[0]!))],
      ...run.map((b) => [x(mid(b)), y(bound(b))] as Point),
      [x(Date.parse(run[run.length - 1]!.end)), y(bound(run[run.length - 1]!))],
    ];
    return [...edge((b) => b.expectedHigh!), ...edge((b) => b.expectedLow!).reverse()];
  });
  return {
    plot,
    x,
    y,
    bands,
    lines,
    points,
    xTicks: timeTicks(t0, t1, size.compact ? 3 : 7).map((t, i) => ({ x: x(t.ms), label: t.label(i === 0) })),
    yTicks: ticks.map((v) => ({ y: y(v), label: formatValue(v) })),
  };
}

/** Runs of consecutive buckets that pass `keep`, split wherever a bucket does not start where the last ended. */
function runs(buckets: readonly ChartBucket[], keep: (b: ChartBucket) => boolean): ChartBucket[][] {
  const out: ChartBucket[][] = [];
  let run: ChartBucket[] = [];
  for (const b of buckets) {
    const last = run[run.length - 1];
    if (!keep(b) || (last && Date.parse(last.end) !== Date.parse(b.start))) {
      if (run.length) out.push(run);
      run = [];
    }
    if (keep(b)) run.push(b);
  }
  if (run.length) out.push(run);
  return out;
}

/**
 * Round tick values (1, 2, 2.5 or 5 times a power of ten) that cover the values. Zero is on the
 * axis when the values are all positive and it does not squash them (the smallest is at most half
 * the largest), so a drop to near zero reads as one.
 */
export function valueTicks(values: readonly number[], target: number): number[] {
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (lo >= 0 && lo <= hi / 2) lo = 0;
  // A flat series sits on an axis from zero, as a count that never moved would.
  if (hi === lo) [lo, hi] = lo > 0 ? [0, hi] : lo < 0 ? [lo, 0] : [0, 1];
  const raw = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v < hi + step - 1e-9 * step; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks.length > 1 ? ticks : [first, first + step];
}

/** Ticks on whole hours, days or weeks (UTC), at most `target` of them, each with its label. */
function timeTicks(t0: number, t1: number, target: number): { ms: number; label: (first: boolean) => string }[] {
  const step = tickSteps.find((s) => (t1 - t0) / s <= target) ?? tickSteps[tickSteps.length - 1]!;
  const offset = step >= 7 * dayMs ? mondayMs : 0;
  const ticks = [];
  for (let ms = Math.ceil((t0 - offset) / step) * step + offset; ms <= t1; ms += step) {
    const d = new Date(ms);
    const date = `${months[d.getUTCMonth()]} ${d.getUTCDate()}`;
    const time = `${String(d.getUTCHours()).padStart(2, "0")}:00`;
    const label = (first: boolean) => (step >= dayMs ? date : first || d.getUTCHours() === 0 ? `${date} ${time}` : time);
    ticks.push({ ms, label });
  }
  return ticks;
}

/** A value as a person reads it: 12, 1.5k, 2.3M, 0.0125. */
export function formatValue(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}

/** `2026-12-01 14:00 UTC`. */
export const formatTime = (iso: string) => `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
