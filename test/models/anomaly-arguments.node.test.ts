/**
 * Anomaly tests' arguments are checked when the project compiles: each bad argument is a compile
 * error naming the file and the line of the argument, with what is wrong.
 */
import { describe, expect, it } from "vitest";
import { compileManifest } from "../../src/models/compile/index.ts";

const compile = (test: string) =>
  compileManifest({
    project: "quality",
    seeds: [{ path: "seeds/events.csv", csv: "id,created_at,amount\n1,2026-01-01T00:00:00Z,3\n" }],
    models: [],
    properties: [{ path: "seeds/schema.yml", yaml: `version: 2\nseeds:\n  - name: events\n    data_tests:\n${test}` }],
    sources: {},
  });
const volume = (args: string) => `      - sluice.volume_anomalies:\n          timestamp_column: created_at\n${args}`;

describe("anomaly test arguments", () => {
  it.each([
    [
      "time_bucket: {period: month, count: 1}",
      'seeds/schema.yml:7: sluice.volume_anomalies on events: time_bucket.period must be hour, day or week, got "month"',
    ],
    [
      "training_period: {period: day, count: 0}",
      "seeds/schema.yml:7: sluice.volume_anomalies on events: training_period.count must be a whole number of periods (1 or more), got 0",
    ],
    [
      "detection_period: 2",
      "seeds/schema.yml:7: sluice.volume_anomalies on events: detection_period must be {period: hour|day|week, count: N}, got 2",
    ],
    [
      "time_bucket: {period: day, count: 1, unit: x}",
      "seeds/schema.yml:7: sluice.volume_anomalies on events: time_bucket takes only period and count",
    ],
    [
      "anomaly_sensitivity: high",
      'seeds/schema.yml:7: sluice.volume_anomalies on events: anomaly_sensitivity must be a positive number, got "high"',
    ],
    [
      "anomaly_direction: up",
      'seeds/schema.yml:7: sluice.volume_anomalies on events: anomaly_direction must be one of both, spike, drop, got "up"',
    ],
    [
      "seasonality: hour_of_day",
      "seeds/schema.yml:7: sluice.volume_anomalies on events: seasonality hour_of_day needs hourly buckets (time_bucket: {period: hour, count: 1, 2, 3, 4, 6, 8 or 12})",
    ],
    [
      "seasonality: day_of_week\n          time_bucket: {period: hour, count: 1}",
      "seeds/schema.yml:7: sluice.volume_anomalies on events: seasonality day_of_week needs daily buckets (time_bucket: {period: day, count: 1})",
    ],
    [
      "seasonality: monthly",
      'seeds/schema.yml:7: sluice.volume_anomalies on events: seasonality must be one of auto, hour_of_week, hour_of_day, day_of_week, none, got "monthly"',
    ],
    ["where_expression: 3", "seeds/schema.yml:7: sluice.volume_anomalies on events: where_expression must be a SQL condition (a string)"],
    [
      "detection_delay: {period: hour, count: 1}",
      "seeds/schema.yml:7: sluice.volume_anomalies on events: Sluice does not support detection_delay yet",
    ],
    [
      "dimensions: [kind]",
      "seeds/schema.yml:7: sluice.volume_anomalies on events: unknown argument dimensions (volume_anomalies takes timestamp_column, time_bucket, training_period, detection_period, seasonality, anomaly_sensitivity, anomaly_direction, where_expression)",
    ],
  ])("%s", async (args, message) => {
    await expect(compile(volume(`          ${args}\n`))).rejects.toThrow(message);
  });

  it("arguments under `arguments:` are found on their own line", async () => {
    await expect(
      compile(
        "      - elementary.volume_anomalies:\n          arguments:\n            timestamp_column: created_at\n            anomaly_sensitivity: -1\n",
      ),
    ).rejects.toThrow("seeds/schema.yml:8: elementary.volume_anomalies on events: anomaly_sensitivity must be a positive number, got -1");
  });

  it.each([
    [
      "      - sluice.volume_anomalies\n",
      "seeds/schema.yml:5: sluice.volume_anomalies on events: needs timestamp_column (Sluice buckets the rows by it; tests without one compare runs, which Sluice does not keep yet)",
    ],
    [
      "      - sluice.volume_anomalies:\n          timestamp_column: created at\n",
      'seeds/schema.yml:6: sluice.volume_anomalies on events: timestamp_column must be a column name, got "created at"',
    ],
    [
      "      - sluice.dimension_anomalies:\n          timestamp_column: created_at\n",
      "seeds/schema.yml:5: sluice.dimension_anomalies on events: needs dimensions: a list of column names",
    ],
    [
      "      - sluice.column_anomalies:\n          timestamp_column: created_at\n",
      "seeds/schema.yml:5: sluice.column_anomalies on events: column_anomalies goes under a column's data_tests (or names its column_name)",
    ],
    [
      "      - sluice.volume_anomalies:\n          timestamp_column: created_at\n          store_failures: true\n",
      "seeds/schema.yml:5: sluice.volume_anomalies on events: store_failures does not apply to anomaly tests (their result lists the anomalous buckets)",
    ],
  ])("%s", async (test, message) => {
    await expect(compile(test)).rejects.toThrow(message);
  });

  it("column tests: the monitors and the column", async () => {
    const onColumn = (monitors: string) =>
      compileManifest({
        project: "quality",
        seeds: [{ path: "seeds/events.csv", csv: "id,created_at,amount\n1,2026-01-01T00:00:00Z,3\n" }],
        models: [],
        properties: [
          {
            path: "seeds/schema.yml",
            yaml: `version: 2\nseeds:\n  - name: events\n    columns:\n      - name: amount\n        data_tests:\n          - sluice.column_anomalies:\n              timestamp_column: created_at\n              column_anomalies: ${monitors}\n          - sluice.volume_anomalies:\n              timestamp_column: created_at\n`,
          },
        ],
        sources: {},
      });
    await expect(onColumn("[null_count, median]")).rejects.toThrow(
      'seeds/schema.yml:9: sluice.column_anomalies on events: unknown column monitor "median" (Sluice computes null_count, null_percent,',
    );
    await expect(onColumn("[null_count]")).rejects.toThrow(
      "seeds/schema.yml:10: sluice.volume_anomalies on events: volume_anomalies is a model test: declare it under the model's data_tests, not a column's",
    );
  });

  it("a valid test keeps its spec, with Elementary's defaults, in the manifest", async () => {
    const manifest = await compile(volume(""));
    const test = manifest.nodes.find((n) => n.resourceType === "test")!;
    expect(test.test?.anomaly).toEqual({
      test: "volume_anomalies",
      timestampColumn: "created_at",
      timeBucket: { period: "day", count: 1 },
      trainingPeriod: { period: "day", count: 14 },
      detectionPeriod: { period: "day", count: 2 },
      seasonality: "auto",
      sensitivity: 3,
      direction: "both",
    });
  });
});
