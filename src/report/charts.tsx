/**
 * A monitor's chart as server-rendered SVG, no script: its judged buckets in (oldest first), an
 * `<svg>` out. The value is a line, the expected range (low..high) a shaded band, and each
 * anomalous bucket a red diamond whose `<title>` (the browser's tooltip) gives its start, value,
 * expected range and z. The chart names itself for screen readers (`<title>`, `<desc>`), and a
 * monitor with no judged bucket says so instead of drawing empty axes. Text goes through Hono's
 * JSX, which escapes it: a monitor id is never markup.
 */
import type { FC } from "hono/jsx";
import { type ChartBucket, type ChartSize, chartGeometry, formatTime, formatValue, type Point } from "./chart-geometry.ts";

export type { ChartBucket } from "./chart-geometry.ts";

const palette = { band: "#cfe0f1", line: "#1d5a8f", point: "#2f6fa6", anomaly: "#b3261e", axis: "#6b7c8f", grid: "#eef2f6" };

export const fullSize: ChartSize = { width: 960, height: 300, compact: false };
export const compactSize: ChartSize = { width: 320, height: 96, compact: true };

const pointsAttr = (points: readonly Point[]) => points.map(([x, y]) => `${x},${y}`).join(" ");

/** The bucket's expected range in words, or why there is none. */
export function expectedText(b: Pick<ChartBucket, "expectedLow" | "expectedHigh">): string {
  return b.expectedLow === null || b.expectedHigh === null
    ? "no expected range yet (too little history)"
    : `expected ${formatValue(b.expectedLow)}–${formatValue(b.expectedHigh)}`;
}

export const zText = (z: number | null) => (z === null ? "z n/a" : `z ${z.toFixed(1)}`);

/** What a bucket's tooltip says. */
export function bucketText(b: ChartBucket): string {
  return `${b.anomalous ? "Anomaly: " : ""}${formatTime(b.start)}: value ${formatValue(b.value)}, ${expectedText(b)}, ${zText(b.z)}`;
}

/** A summary for the `<desc>`: the span, how many buckets, how many anomalous, and the latest. */
function describe(buckets: readonly ChartBucket[]): string {
  const last = buckets[buckets.length - 1]!;
  const anomalies = buckets.filter((b) => b.anomalous).length;
  return `${buckets.length} judged buckets from ${formatTime(buckets[0]!.start)} to ${formatTime(last.end)}; ${anomalies} anomalous. Latest: ${bucketText(last)}.`;
}

const diamond = ([x, y]: Point, r: number) =>
  pointsAttr([
    [x, y - r],
    [x + r, y],
    [x, y + r],
    [x - r, y],
  ] as Point[]);

export const MonitorChart: FC<{ monitorId: string; buckets: readonly ChartBucket[]; size?: ChartSize; domId: string }> = ({
  monitorId,
  buckets,
  size = fullSize,
  domId,
}) => {
  const { width, height, compact } = size;
  const labels = { "aria-labelledby": `${domId}-title ${domId}-desc` };
  const frame = {
    class: "monitor-chart",
    "data-monitor": monitorId,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    ...labels,
  };
  if (buckets.length === 0) {
    return (
      <svg {...frame} data-empty="true">
        <title id={`${domId}-title`}>{monitorId}: not judged yet</title>
        <desc id={`${domId}-desc`}>No bucket of this monitor has been judged yet: it judges each bucket once it is complete.</desc>
        <rect x="0.5" y="0.5" width={width - 1} height={height - 1} fill="#fafbfc" stroke={palette.grid} rx="4" />
        <text
          x={width / 2}
          y={height / 2}
          text-anchor="middle"
          dominant-baseline="middle"
          fill={palette.axis}
          font-size={compact ? 12 : 14}
        >
          Not judged yet
        </text>
      </svg>
    );
  }
  const g = chartGeometry(buckets, size);
  const fontSize = compact ? 9 : 11;
  return (
    <svg {...frame}>
      <title id={`${domId}-title`}>{monitorId}</title>
      <desc id={`${domId}-desc`}>{describe(buckets)}</desc>
      <g class="grid" stroke={palette.grid}>
        {g.yTicks.map((t) => (
          <line x1={g.plot.left} x2={g.plot.right} y1={t.y} y2={t.y} />
        ))}
      </g>
      {g.bands.map((band) => (
        <polygon class="band" points={pointsAttr(band)} fill={palette.band} />
      ))}
      {g.lines.map((line) => (
        <polyline class="line" points={pointsAttr(line)} fill="none" stroke={palette.line} stroke-width="1.5" />
      ))}
      {g.points.map(({ at, bucket, alone }) => {
        // Thumbnails draw the line without dots, but a bucket no line reaches would be invisible.
        if (bucket.anomalous || (compact && !alone)) return null;
        return (
          <circle class="point" cx={at[0]} cy={at[1]} r={compact ? 1.5 : 2.5} fill={palette.point}>
            <title>{bucketText(bucket)}</title>
          </circle>
        );
      })}
      {g.points.map(({ at, bucket }) =>
        bucket.anomalous ? (
          <polygon class="anomaly" data-start={bucket.start} points={diamond(at, compact ? 4 : 6)} fill={palette.anomaly} stroke="#fff">
            <title>{bucketText(bucket)}</title>
          </polygon>
        ) : null,
      )}
      <g class="axis" fill={palette.axis} font-size={fontSize}>
        <line x1={g.plot.left} x2={g.plot.right} y1={g.plot.bottom} y2={g.plot.bottom} stroke={palette.axis} />
        {g.yTicks.map((t) => (
          <text class="y-tick" x={g.plot.left - 4} y={t.y} text-anchor="end" dominant-baseline="middle">
            {t.label}
          </text>
        ))}
        {g.xTicks.map((t) => (
          <text class="x-tick" x={t.x} y={g.plot.bottom + fontSize + 3} text-anchor="middle">
            {t.label}
          </text>
        ))}
        {compact ? null : (
          <text x={g.plot.right} y={height - 2} text-anchor="end">
            UTC
          </text>
        )}
      </g>
    </svg>
  );
};
