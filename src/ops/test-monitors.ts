/**
 * Monitors made by anomaly tests (`sluice.*_anomalies`, `elementary.*_anomalies`), so a monitored
 * model can be charted across builds. Ids: `test:<unique_id>` for volume and freshness anomalies;
 * `test:<unique_id>:<metric>` for each column monitor of column_anomalies (`…:null_percent`);
 * `test:<unique_id>:<dimension value>` for each value of dimension_anomalies (`…:b`, or
 * `…:a; x` for several dimensions).
 *
 * In: a test node and its judged series, each time the test runs (models/test-run.ts). Out: the
 * judged buckets in `_sluice_monitor_buckets`, upserted by bucket start (a later build rewrites the
 * buckets it judges again), and what each monitor watches in `_sluice_test_monitors`.
 */
import { getTableName } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { testMonitors } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";
import type { Manifest, ManifestNode } from "../models/manifest-schema.ts";
import type { AnomalyTestName } from "../quality/anomaly-tests.ts";
import type { JudgedSeries } from "../quality/run-anomaly-test.ts";
import { bucketsOf, bucketUpserts } from "./monitor-buckets.ts";

export interface TestMonitor {
  id: string;
  kind: AnomalyTestName;
  /** The model, seed or source table the test is attached to. */
  model: string | null;
  /** The test's unique id. */
  test: string;
  metric: string | null;
  dimension: string | null;
}

export function testMonitorId(testId: string, label: JudgedSeries["label"] = {}): string {
  const part = label.metric ?? label.dimension;
  return part === undefined ? `test:${testId}` : `test:${testId}:${part}`;
}

/** Stores a test's judged buckets under its monitors, in one batch; returns how many buckets. */
export async function recordTestMonitors(d1: D1Database, node: ManifestNode, series: readonly JudgedSeries[], now: Date): Promise<number> {
  const kind = node.test?.anomaly?.test;
  if (!kind || series.length === 0) return 0;
  const monitors = series.map(
    (s): TestMonitor => ({
      id: testMonitorId(node.uniqueId, s.label),
      kind,
      model: node.test?.attachedTo ?? null,
      test: node.uniqueId,
      metric: s.label.metric ?? null,
      dimension: s.label.dimension ?? null,
    }),
  );
  const buckets = series.flatMap((s, i) => bucketsOf(monitors[i]!.id, s.judged, s.buckets));
  const rows = JSON.stringify(monitors.map((m) => [m.id, m.test, m.kind, m.model, m.metric, m.dimension]));
  await d1.batch([
    d1
      .prepare(
        `INSERT INTO ${quoteIdent(getTableName(testMonitors))} (monitor_id, test_id, kind, model, metric, dimension, last_run_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),
  json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?2 FROM json_each(?1) WHERE true
ON CONFLICT (monitor_id) DO UPDATE SET kind = excluded.kind, model = excluded.model, last_run_at = excluded.last_run_at`,
      )
      .bind(rows, now.toISOString()),
    ...bucketUpserts(d1, buckets, now),
  ]);
  return buckets.length;
}

/**
 * The monitors the manifest's anomaly tests declare, in manifest order: one per volume or freshness
 * test, one per column monitor of a column test. A dimension test's are its values, known only once
 * it has run.
 */
export function declaredTestMonitors(manifest: Manifest): TestMonitor[] {
  return manifest.nodes.flatMap((node): TestMonitor[] => {
    const spec = node.test?.anomaly;
    if (!spec || spec.test === "dimension_anomalies") return [];
    const base = { kind: spec.test, model: node.test?.attachedTo ?? null, test: node.uniqueId, dimension: null };
    if (spec.test !== "column_anomalies") return [{ id: testMonitorId(node.uniqueId), ...base, metric: null }];
    return (spec.metrics ?? []).map((metric) => ({ id: testMonitorId(node.uniqueId, { metric }), ...base, metric }));
  });
}

/**
 * Every test monitor: those the manifest declares, then those builds have stored that it does not
 * name (dimension values, tests since removed, builds of a manifest with other vars).
 */
export async function listTestMonitors(d1: D1Database, manifest: Manifest): Promise<TestMonitor[]> {
  const declared = declaredTestMonitors(manifest);
  const known = new Set(declared.map((m) => m.id));
  const stored = await drizzle(d1).select().from(testMonitors).orderBy(testMonitors.monitorId);
  return [
    ...declared,
    ...stored
      .filter((row) => !known.has(row.monitorId))
      .map((row) => ({
        id: row.monitorId,
        kind: row.kind,
        model: row.model,
        test: row.testId,
        metric: row.metric,
        dimension: row.dimension,
      })),
  ];
}
