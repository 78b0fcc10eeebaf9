/**
 * Test monitors: each build that runs an anomaly test stores every bucket it judged under the
 * test's monitors (`test:<unique_id>`, one per column monitor or dimension value), upserted by
 * bucket start, and the monitors API lists them and serves their series and anomalies.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import type { Manifest } from "../../src/models/manifest-schema.ts";
import type { RunSummary } from "../../src/models/runner.ts";
import { chartSubjects } from "../../src/report/monitor-data.ts";
import { bucketStart, build, dayMs, eventsCsv, weekly } from "../support/anomaly-series.ts";
import { expectNoMonitor, adminGet as get } from "../support/monitors-api.ts";
import { rows } from "../support/pipeline.ts";

const thirtyDays = "          detection_period: {period: day, count: 30}\n";
/** Volume drops to 4 rows six days ago; amount is null in half the rows three days ago; kind b disappears two days ago. */
const csv = eventsCsv(
  dayMs,
  35,
  (b, start) => (b === 29 ? 4 : weekly(b, start)),
  (b, i) => (b === 32 ? i % 2 === 0 : i % 20 === 0),
  (b, i) => (i % 3 === 0 && b !== 33 ? "b" : "a"),
);
const tests =
  `      - sluice.volume_anomalies:\n          timestamp_column: created_at\n${thirtyDays}` +
  `      - elementary.dimension_anomalies:\n          timestamp_column: created_at\n          dimensions: [kind]\n${thirtyDays}` +
  "    columns:\n      - name: amount\n        data_tests:\n" +
  "          - sluice.column_anomalies:\n              timestamp_column: created_at\n" +
  "              column_anomalies: [null_percent, average]\n              detection_period: {period: day, count: 30}\n";

type Result = RunSummary["results"][number];
let results: Result[];
let manifest: Manifest;
const testId = (name: string) => results.find((r) => r.uniqueId.includes(name))!.uniqueId;
const stored = (monitor: string) =>
  rows<{
    bucket_start: string;
    value: number;
    expected_low: number | null;
    expected_high: number | null;
    z: number | null;
    anomalous: number;
  }>(
    "SELECT bucket_start, value, expected_low, expected_high, z, anomalous FROM _sluice_monitor_buckets WHERE monitor_id = ?1 ORDER BY bucket_start",
    monitor,
  );

beforeAll(async () => {
  ({ tests: results, manifest } = await build(csv, tests));
});

describe("test monitors", () => {
  it("store every bucket a build judged, one monitor per test, column monitor or dimension value", async () => {
    const volume = testId("volume_anomalies");
    const column = testId("column_anomalies");
    const dimension = testId("dimension_anomalies");
    const ids = await rows<{ monitor_id: string }>(
      "SELECT DISTINCT monitor_id FROM _sluice_monitor_buckets WHERE monitor_id LIKE 'test:%' ORDER BY 1",
    );
    expect(ids.map((r) => r.monitor_id)).toEqual(
      [`test:${volume}`, `test:${column}:average`, `test:${column}:null_percent`, `test:${dimension}:a`, `test:${dimension}:b`].sort(),
    );
    const days = await stored(`test:${volume}`);
    // The detection period: the thirty complete days before today.
    expect(days.map((b) => b.bucket_start)).toEqual(Array.from({ length: 30 }, (_, i) => bucketStart(dayMs, 30 - i)));
    // The anomalous buckets are the run result's anomalies, with the same value and expected range.
    const result = results.find((r) => r.uniqueId === volume)!;
    expect(days.filter((b) => b.anomalous === 1)).toEqual(
      result.anomalies!.map((a) => ({
        bucket_start: a.start,
        value: a.value,
        expected_low: a.expectedLow,
        expected_high: a.expectedHigh,
        z: a.z,
        anomalous: 1,
      })),
    );
    expect(days.find((b) => b.anomalous === 1)).toMatchObject({ bucket_start: bucketStart(dayMs, 6), value: 4 });
    // The day of 4 rows moves the other series too (1 null in 4 is 25%); each series flags its own change.
    const flagged = async (monitor: string) => (await stored(monitor)).filter((b) => b.anomalous === 1);
    expect(await flagged(`test:${column}:null_percent`)).toMatchObject([
      { bucket_start: bucketStart(dayMs, 6), value: 25 },
      { bucket_start: bucketStart(dayMs, 3), value: 50 },
    ]);
    expect(await flagged(`test:${dimension}:b`)).toContainEqual(expect.objectContaining({ bucket_start: bucketStart(dayMs, 2), value: 0 }));
  });

  it("a failing anomaly test's incident carries its newest anomaly and links that monitor's chart", async () => {
    const column = testId("column_anomalies");
    const [incident] = await rows<Record<string, unknown>>(
      "SELECT status, monitor_id, message, value, expected_low, expected_high FROM _sluice_incidents WHERE kind = 'test_failed' AND subject = ?1",
      column,
    );
    const newest = results.find((r) => r.uniqueId === column)!.anomalies!.reduce((a, b) => (b.start >= a.start ? b : a));
    expect(incident).toEqual({
      status: "open",
      monitor_id: `test:${column}:${newest.metric}`,
      message: expect.stringMatching(new RegExp(`; newest \\(${newest.metric}\\): .+ in ${newest.start.slice(0, 10)} 00:00–00:00 UTC`)),
      value: newest.value,
      expected_low: newest.expectedLow,
      expected_high: newest.expectedHigh,
    });
  });

  it("a later build rewrites the buckets it judges again, in place", async () => {
    const volume = `test:${testId("volume_anomalies")}`;
    const before = await stored(volume);
    await build(csv, tests);
    expect(await stored(volume)).toEqual(before);
  });
});

describe("the console", () => {
  it("charts a model's test monitors on its card: each column monitor of a column test", () => {
    const card = chartSubjects(getConfig(), manifest).find((s) => s.kind === "model" && s.label === "events")!;
    const column = testId("column_anomalies");
    // A dimension test's monitors are its values, known once it has run: the console lists them with every stored monitor.
    expect(card.charts.map((c) => c.monitorId).sort()).toEqual(
      [`test:${testId("volume_anomalies")}`, `test:${column}:null_percent`, `test:${column}:average`].sort(),
    );
  });
});

describe("monitors API", () => {
  it("lists test monitors with their kind, model and test", async () => {
    const response = await get("/v1/monitors");
    expect(response.status).toBe(200);
    const { monitors } = (await response.json()) as { monitors: Record<string, unknown>[] };
    const volume = testId("volume_anomalies");
    const column = testId("column_anomalies");
    const dimension = testId("dimension_anomalies");
    expect(monitors.find((m) => m.id === `test:${volume}`)).toEqual({
      id: `test:${volume}`,
      kind: "volume_anomalies",
      model: "events",
      test: volume,
      metric: null,
      dimension: null,
      last_bucket: expect.objectContaining({ start: bucketStart(dayMs, 1), end: bucketStart(dayMs, 0), anomalous: false }),
      open_anomaly: false,
    });
    expect(monitors.find((m) => m.id === `test:${column}:null_percent`)).toMatchObject({
      kind: "column_anomalies",
      model: "events",
      test: column,
      metric: "null_percent",
      dimension: null,
    });
    expect(monitors.find((m) => m.id === `test:${dimension}:b`)).toMatchObject({
      kind: "dimension_anomalies",
      test: dimension,
      metric: null,
      dimension: "b",
    });
  });

  it("serves a test monitor's series and anomalies", async () => {
    const monitor = `test:${testId("volume_anomalies")}`;
    const series = (await (await get(`/v1/monitors/${encodeURIComponent(monitor)}/series`)).json()) as {
      monitor: string;
      kind: string;
      buckets: { start: string; anomalous: boolean }[];
    };
    expect(series).toMatchObject({ monitor, kind: "volume_anomalies" });
    expect(series.buckets).toHaveLength(30);
    const anomalies = (await (await get(`/v1/anomalies?monitor=${encodeURIComponent(monitor)}`)).json()) as {
      anomalies: { monitor: string; start: string }[];
    };
    expect(anomalies.anomalies.map((a) => [a.monitor, a.start])).toEqual([[monitor, bucketStart(dayMs, 6)]]);
  });

  it("answers 404 for a test monitor no build or manifest knows", async () => {
    const unknown = `test:${testId("volume_anomalies")}:null_percent`;
    await expectNoMonitor(unknown);
  });
});
