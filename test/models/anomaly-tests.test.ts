/**
 * Anomaly tests in `build`, on real local D1: a seed holds a generated series (daily or hourly,
 * ending now, so the newest bucket is still filling) with anomalies put in at known buckets; the
 * test's metric is computed in SQL, judged in the Worker, and the run result lists the anomalies.
 */
import { describe, expect, it } from "vitest";
import { compileManifest } from "../../src/models/compile/index.ts";
import { bucketStart, build, dayMs, eventsCsv, hourMs, weekly } from "../support/anomaly-series.ts";
import { adminToken } from "../support/fixtures.ts";
import { buildManifest, rows } from "../support/pipeline.ts";
import { call, origin } from "../support/worker.ts";

const thirtyDays = "          detection_period: {period: day, count: 30}\n";

describe("anomaly tests in build", () => {
  it("volume_anomalies: a drop to 10% and a spike fail the test, listed with their expected range", async () => {
    const drop = 6;
    const spike = 4;
    const csv = eventsCsv(dayMs, 35, (b, start) => (b === 35 - drop ? 4 : b === 35 - spike ? 120 : weekly(b, start)));
    const { tests, summary } = await build(csv, `      - sluice.volume_anomalies:\n          timestamp_column: created_at\n${thirtyDays}`);
    expect(tests).toMatchObject([{ status: "fail", failures: 2, message: "Got 2 results, configured to fail if !=0" }]);
    const anomalies = tests[0]!.anomalies!;
    expect(anomalies.map((a) => [a.start, a.end, a.value])).toEqual([
      [bucketStart(dayMs, drop), bucketStart(dayMs, drop - 1), 4],
      [bucketStart(dayMs, spike), bucketStart(dayMs, spike - 1), 120],
    ]);
    expect(anomalies[0]!.expectedLow).toBeGreaterThan(4);
    expect(anomalies[0]!.z).toBeLessThan(-3);
    expect(anomalies[1]!.expectedHigh).toBeLessThan(120);
    expect(anomalies[1]!.z).toBeGreaterThan(3);
    // Stored with the result, and returned by GET /v1/runs/:id.
    const [stored] = await rows<{ status: string; failures: number; anomalies: string }>(
      "SELECT status, failures, anomalies FROM _sluice_model_results WHERE run_id = ? AND resource_type = 'test'",
      summary.runId,
    );
    expect(stored).toMatchObject({ status: "fail", failures: 2 });
    expect(JSON.parse(stored!.anomalies)).toEqual(anomalies);
    const response = await call(new Request(`${origin}/v1/runs/${summary.runId}`, { headers: { authorization: `Bearer ${adminToken}` } }));
    const body = (await response.json()) as { results: { resourceType: string; anomalies: unknown }[] };
    expect(body.results.filter((r) => r.resourceType === "test").map((r) => r.anomalies)).toEqual([anomalies]);
  });

  it("volume_anomalies passes on a normal series, and the result lists no anomaly", async () => {
    const { tests } = await build(
      eventsCsv(dayMs, 35, weekly),
      `      - sluice.volume_anomalies:\n          timestamp_column: created_at\n${thirtyDays}`,
    );
    expect(tests).toMatchObject([{ status: "pass", failures: 0, message: null, anomalies: [] }]);
  });

  it("hourly buckets: a silence of three hours is one anomaly, at its first hour", async () => {
    const silent = [30, 29, 28];
    const csv = eventsCsv(hourMs, 9 * 24, (b) => (silent.includes(9 * 24 - b) ? 0 : 30 + ((b * 7) % 5)));
    const { tests } = await build(
      csv,
      "      - elementary.volume_anomalies:\n          arguments:\n            timestamp_column: created_at\n" +
        "            time_bucket: {period: hour, count: 1}\n            detection_period: {period: day, count: 3}\n",
    );
    expect(tests).toMatchObject([{ status: "fail", failures: 1 }]);
    expect(tests[0]!.anomalies).toMatchObject([{ start: bucketStart(hourMs, 30), value: 0, reason: "z" }]);
  });

  it("column_anomalies: a jump in the null rate, per monitor; warn severity does not fail", async () => {
    const csv = eventsCsv(dayMs, 35, weekly, (b, i) => (b === 32 ? i % 2 === 0 : i % 20 === 0));
    const { tests, summary } = await build(
      csv,
      "      - sluice.column_anomalies:\n          column_name: amount\n          timestamp_column: created_at\n" +
        `          column_anomalies: [null_percent, average]\n${thirtyDays}          config:\n            severity: warn\n`,
    );
    expect(tests).toMatchObject([{ status: "warn", failures: 1, message: "Got 1 result, configured to warn if !=0" }]);
    expect(tests[0]!.anomalies).toMatchObject([{ start: bucketStart(dayMs, 3), metric: "null_percent" }]);
    expect(tests[0]!.anomalies![0]!.value).toBeGreaterThan(45);
    expect(summary.status).toBe("success");
  });

  it("dimension_anomalies: a value that disappears for a day", async () => {
    const csv = eventsCsv(dayMs, 35, weekly, undefined, (b, i) => (i % 3 === 0 && b !== 33 ? "b" : "a"));
    const { tests } = await build(
      csv,
      `      - elementary.dimension_anomalies:\n          timestamp_column: created_at\n          dimensions: [kind]\n${thirtyDays}`,
    );
    expect(tests).toMatchObject([{ status: "fail" }]);
    expect(tests[0]!.anomalies).toMatchObject([{ start: bucketStart(dayMs, 2), dimension: "b", value: 0 }]);
  });

  it("freshness_anomalies: a day-long gap between rows", async () => {
    // Hourly rows, but none for a day and a half, 10 days ago.
    const csv = eventsCsv(hourMs, 20 * 24, (b) => (b >= 10 * 24 && b < 10 * 24 + 36 ? 0 : 1));
    const { tests } = await build(
      csv,
      "      - sluice.freshness_anomalies:\n          timestamp_column: created_at\n" +
        "          time_bucket: {period: hour, count: 6}\n          detection_period: {period: day, count: 15}\n",
    );
    expect(tests).toMatchObject([{ status: "fail" }]);
    const anomalies = tests[0]!.anomalies!;
    expect(anomalies[0]!.start).toBe(bucketStart(6 * hourMs, (20 * 24 - 10 * 24) / 6));
    expect(anomalies.every((a) => a.z === null || a.z > 3)).toBe(true);
  });

  it("error severity blocks the models downstream of the tested seed", async () => {
    const csv = eventsCsv(dayMs, 35, (b, start) => (b === 31 ? 4 : weekly(b, start)));
    const manifest = await compileManifest({
      project: "quality",
      seeds: [{ path: "seeds/events.csv", csv }],
      models: [{ path: "models/daily.sql", sql: "select count(*) as n from {{ ref('events') }}" }],
      properties: [
        {
          path: "seeds/schema.yml",
          yaml: `version: 2\nseeds:\n  - name: events\n    data_tests:\n      - sluice.volume_anomalies:\n          timestamp_column: created_at\n${thirtyDays}`,
        },
      ],
      sources: {},
    });
    const { results } = await buildManifest(manifest);
    expect(results.map((r) => [r.uniqueId.split(".")[2], r.status])).toEqual([
      ["events", "success"],
      [expect.stringContaining("volume_anomalies"), "fail"],
      ["daily", "skipped"],
    ]);
  });
});
