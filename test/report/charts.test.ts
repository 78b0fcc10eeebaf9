import { describe, expect, it } from "vitest";
import { type ChartBucket, chartGeometry, formatValue, valueTicks } from "../../src/report/chart-geometry.ts";
import { compactSize, fullSize, MonitorChart } from "../../src/report/charts.tsx";
import { select } from "../support/console.ts";

const hour = 3_600_000;
const t0 = Date.parse("2026-12-01T00:00:00Z");

/** Hourly buckets from t0, one per value; bounds and anomalies as given. */
function series(
  values: number[],
  bounds: (i: number) => [number, number] | null = () => [0, 100],
  anomalous: number[] = [],
): ChartBucket[] {
  return values.map((value, i) => {
    const b = bounds(i);
    return {
      start: new Date(t0 + i * hour).toISOString(),
      end: new Date(t0 + (i + 1) * hour).toISOString(),
      value,
      expectedLow: b ? b[0] : null,
      expectedHigh: b ? b[1] : null,
      z: b ? (value - (b[0] + b[1]) / 2) / ((b[1] - b[0]) / 6) : null,
      anomalous: anomalous.includes(i),
    };
  });
}

const render = async (buckets: ChartBucket[], monitorId = "stream:shop.orders:volume", size = fullSize) =>
  String(await MonitorChart({ monitorId, buckets, size, domId: "c1" }));

const parsePoints = (attr: string) => attr.split(" ").map((p) => p.split(",").map(Number) as [number, number]);

describe("chart geometry", () => {
  it("picks round value ticks that cover the values, with zero when it does not squash them", () => {
    expect(valueTicks([0, 100], 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(valueTicks([30, 95], 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(valueTicks([1000, 1010], 5)).toEqual([1000, 1002, 1004, 1006, 1008, 1010]);
    expect(valueTicks([0.01, 0.04], 3)).toEqual([0, 0.02, 0.04]);
    expect(valueTicks([], 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(valueTicks([7, 7], 5)).toEqual([0, 2, 4, 6, 8]);
  });

  it("writes values as people read them", () => {
    expect([12, 1500, 25_000, 2_345_678, 0.0125, -2.34567, 0].map(formatValue)).toEqual([
      "12",
      "1500",
      "25k",
      "2.35M",
      "0.0125",
      "-2.35",
      "0",
    ]);
  });

  it("labels the time axis with whole hours, the date on the first tick and at midnight", () => {
    const g = chartGeometry(series(Array(24).fill(50)), fullSize);
    expect(g.xTicks.map((t) => t.label)).toEqual(["Dec 1 00:00", "06:00", "12:00", "18:00", "Dec 2 00:00"]);
    expect(g.xTicks[0]!.x).toBe(g.plot.left);
    expect(g.xTicks[4]!.x).toBe(g.plot.right);
    // Weeks start on Mondays (2026-12-07 is one).
    const weeks = chartGeometry(series(Array(24 * 28).fill(50)), fullSize);
    expect(weeks.xTicks.map((t) => t.label)).toEqual(["Dec 7", "Dec 14", "Dec 21", "Dec 28"]);
  });
});

describe("monitor chart: the band", () => {
  it("is one polygon through each bucket's expected high, then back along its expected low", async () => {
    const bounds = [
      [20, 80],
      [10, 90],
      [0, 60],
    ] as [number, number][];
    const buckets = series([50, 70, 30], (i) => bounds[i]!);
    const html = await render(buckets);
    const [band, ...more] = await select(html, "polygon.band");
    expect(more).toEqual([]);
    const points = parsePoints(band!.points!);
    // The plot's box and value axis, from the rendered ticks: 0..100 in steps of 20.
    const ticks = await select(html, "text.y-tick");
    expect(ticks.map((t) => t.text)).toEqual(["0", "20", "40", "60", "80", "100"]);
    const [bottom, top] = [Number(ticks[0]!.y), Number(ticks[5]!.y)];
    const valueAt = (y: number) => ((bottom - y) / (bottom - top)) * 100;
    // High edge: the first bucket's start, each midpoint, the last bucket's end; then the low edge back.
    const expected = [80, 80, 90, 60, 60, 0, 0, 10, 20, 20];
    expect(points.map(([, y]) => valueAt(y))).toEqual(expected.map((v) => expect.closeTo(v, 0.5)));
    const g = chartGeometry(buckets, fullSize);
    const xs = [t0, t0 + hour / 2, t0 + 1.5 * hour, t0 + 2.5 * hour, t0 + 3 * hour].map(g.x);
    expect(points.map(([x]) => x)).toEqual([...xs, ...xs.reverse()]);
  });

  it("leaves a gap where the bounds are null (too little history), and draws none when all are", async () => {
    const buckets = series([10, 11, 12, 13, 14, 15, 16, 17], (i) => (i === 3 || i === 4 ? null : [5, 25]));
    const g = chartGeometry(buckets, fullSize);
    const bands = (await select(await render(buckets), "polygon.band")).map((b) => parsePoints(b.points!));
    expect(bands).toHaveLength(2);
    const span = (points: [number, number][]) => [Math.min(...points.map(([x]) => x)), Math.max(...points.map(([x]) => x))];
    expect(span(bands[0]!)).toEqual([g.x(t0), g.x(t0 + 3 * hour)]);
    expect(span(bands[1]!)).toEqual([g.x(t0 + 5 * hour), g.x(t0 + 8 * hour)]);
    // The line itself is unbroken: every bucket was judged.
    expect(await select(await render(buckets), "polyline.line")).toHaveLength(1);

    const noHistory = await render(series([10, 11, 12], () => null));
    expect(await select(noHistory, "polygon.band")).toEqual([]);
    expect(await select(noHistory, "polyline.line")).toHaveLength(1);
  });

  it("breaks the line and the band where buckets are missing", async () => {
    const buckets = series([10, 11, 12, 13]).filter((_, i) => i !== 2);
    const html = await render(buckets);
    expect(await select(html, "polyline.line")).toHaveLength(1);
    expect(await select(html, "polygon.band")).toHaveLength(2);
    // The lone bucket after the gap still shows, as a dot.
    expect((await select(html, "circle.point")).map((c) => c.cx)).toHaveLength(3);
    expect((await select(await render(buckets, "m", compactSize), "circle.point")).map((c) => c.cx)).toEqual([
      String(chartGeometry(buckets, compactSize).points[2]!.at[0]),
    ]);
  });
});

describe("monitor chart: anomalies and points", () => {
  it("marks exactly the anomalous buckets, each with a tooltip giving start, value, expected range and z", async () => {
    const buckets = series([50, 52, 49, 5, 51, 50, 48, 160, 50, 51], () => [35, 65], [3, 7]);
    const html = await render(buckets);
    const anomalies = await select(html, "polygon.anomaly");
    expect(anomalies.map((a) => a["data-start"])).toEqual([buckets[3]!.start, buckets[7]!.start]);
    expect(anomalies.map((a) => a.text)).toEqual([
      "Anomaly: 2026-12-01 03:00 UTC: value 5, expected 35–65, z -9.0",
      "Anomaly: 2026-12-01 07:00 UTC: value 160, expected 35–65, z 22.0",
    ]);
    // Each diamond is centred on its bucket's point.
    const g = chartGeometry(buckets, fullSize);
    const centre = (attr: string) => {
      const p = parsePoints(attr);
      return [(p[1]![0] + p[3]![0]) / 2, (p[0]![1] + p[2]![1]) / 2];
    };
    expect(anomalies.map((a) => centre(a.points!))).toEqual(
      [g.points[3]!.at, g.points[7]!.at].map(([x, y]) => [expect.closeTo(x, 1), expect.closeTo(y, 1)]),
    );
    const points = await select(html, "circle.point");
    expect(points).toHaveLength(8);
    expect(points[0]!.text).toBe("2026-12-01 00:00 UTC: value 50, expected 35–65, z 0.0");
  });

  it("says when a bucket had no expected range or no z", async () => {
    const html = await render(series([0], () => null, [0]));
    expect((await select(html, "polygon.anomaly")).map((a) => a.text)).toEqual([
      "Anomaly: 2026-12-01 00:00 UTC: value 0, no expected range yet (too little history), z n/a",
    ]);
  });

  it("draws a thumbnail without a dot per bucket, still marking anomalies", async () => {
    const html = await render(
      series([50, 52, 5, 51], () => [35, 65], [2]),
      "m",
      compactSize,
    );
    expect(await select(html, "circle.point")).toEqual([]);
    expect(await select(html, "polygon.anomaly")).toHaveLength(1);
    expect(await select(html, "polyline.line")).toHaveLength(1);
  });
});

describe("monitor chart: edges", () => {
  it("says 'not judged yet' for a monitor with no bucket, with no axes or marks", async () => {
    const html = await render([]);
    const [svg] = await select(html, "svg");
    expect(svg).toMatchObject({ "data-empty": "true", role: "img", "aria-labelledby": "c1-title c1-desc" });
    expect((await select(html, "text")).map((t) => t.text)).toEqual(["Not judged yet"]);
    expect((await select(html, "title")).map((t) => t.text)).toEqual(["stream:shop.orders:volume: not judged yet"]);
    for (const mark of ["polygon", "polyline", "circle"]) expect(await select(html, mark)).toEqual([]);
  });

  it("draws a one-bucket series as a point inside its band, with axes", async () => {
    const html = await render(series([42], () => [30, 60]));
    expect(await select(html, "polyline.line")).toEqual([]);
    expect(await select(html, "circle.point")).toHaveLength(1);
    expect(parsePoints((await select(html, "polygon.band"))[0]!.points!)).toHaveLength(6);
    expect((await select(html, "g.axis text")).length).toBeGreaterThan(3);
  });

  it("names itself for screen readers: a title and a description of the span, anomalies and latest bucket", async () => {
    const html = await render(series([50, 5], () => [35, 65], [1]));
    expect(await select(html, "title#c1-title")).toMatchObject([{ text: "stream:shop.orders:volume" }]);
    expect((await select(html, "desc#c1-desc"))[0]!.text).toBe(
      "2 judged buckets from 2026-12-01 00:00 UTC to 2026-12-01 02:00 UTC; 1 anomalous. Latest: Anomaly: 2026-12-01 01:00 UTC: value 5, expected 35–65, z -9.0.",
    );
  });

  it("escapes the monitor id in text and attributes", async () => {
    const id = `table:"x"<script>alert(1)</script>.c:null_rate`;
    for (const buckets of [[], series([1, 2])]) {
      const html = await render(buckets, id);
      expect(html).not.toContain("<script>");
      expect(html).toContain("&lt;script&gt;");
      expect((await select(html, "svg"))[0]!["data-monitor"]).toBe(id);
      expect(await select(html, "script")).toEqual([]);
    }
  });
});
