/**
 * What the console's charts read: judged buckets from `_sluice_monitor_buckets`, by monitor id,
 * whatever the monitor's kind. In: the config and the manifest (which monitors the pipeline
 * declares: each stream's, and each anomaly test's, ops/test-monitors.ts) and D1. Out: buckets for
 * a chart, each monitor's latest state, the newest anomalies, and the dashboard's chart subjects:
 * a stream (its volume monitor) or a model (its anomaly tests' monitors).
 */
import { and, desc, eq, gte, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { declaredStreams, type SluiceConfig } from "../config/index.ts";
import { type MonitorBucket, monitorBuckets } from "../db/schema.ts";
import type { Manifest } from "../models/manifest-schema.ts";
import { storedMonitorIds } from "../ops/monitor-buckets.ts";
import { lastJudged, monitorId, streamMonitors } from "../ops/monitors.ts";
import { declaredTestMonitors } from "../ops/test-monitors.ts";
import type { ChartBucket } from "./chart-geometry.ts";

/** A chart shows this many of a monitor's latest buckets unless a range is asked for: a week of hours. */
export const defaultBuckets = 168;

export const toChartBucket = (b: MonitorBucket): ChartBucket => ({
  start: b.bucketStart,
  end: b.bucketEnd,
  value: b.value,
  expectedLow: b.expectedLow,
  expectedHigh: b.expectedHigh,
  z: b.z,
  anomalous: b.anomalous,
});

/** What a dashboard card charts: a stream or a model, with the monitors drawn for it. */
export interface ChartSubject {
  kind: "stream" | "model";
  /** `source/stream`, or the model's unique id. */
  subject: string;
  label: string;
  charts: { monitorId: string; label: string }[];
  /** The subjects its incidents name (see incident-data.ts `isAbout`). */
  names: string[];
  /** The prefix of every monitor id of the subject, where its ids have one. */
  monitorPrefix?: string;
}

/** Each declared stream with its volume monitor, then each node that anomaly tests watch, with theirs. */
export function chartSubjects(config: SluiceConfig, manifest: Manifest): ChartSubject[] {
  const streams: ChartSubject[] = declaredStreams(config).map(({ source, stream }) => ({
    kind: "stream",
    subject: `${source}/${stream}`,
    label: `${source}/${stream}`,
    charts: [{ monitorId: monitorId(source, stream, "volume"), label: "records loaded per hour" }],
    names: [`${source}/${stream}`, `${source}.${stream}`],
    monitorPrefix: `stream:${source}.${stream}:`,
  }));
  const watched = new Map<string, Manifest["nodes"]>();
  for (const node of manifest.nodes) {
    if (node.resourceType !== "test" || !node.test?.anomaly) continue;
    for (const parent of node.dependsOn.nodes) watched.set(parent, [...(watched.get(parent) ?? []), node]);
  }
  // A column test charts each of its column monitors; a dimension test's values are known only once it has run.
  const monitorsOf = Map.groupBy(declaredTestMonitors(manifest), (m) => m.test);
  const models: ChartSubject[] = manifest.nodes
    .filter((n) => watched.has(n.uniqueId))
    .map((n) => {
      const tests = watched.get(n.uniqueId)!;
      return {
        kind: "model",
        subject: n.uniqueId,
        label: n.name,
        charts: tests.flatMap((t) =>
          (monitorsOf.get(t.uniqueId) ?? []).map((m) => ({ monitorId: m.id, label: m.metric ? `${t.name}: ${m.metric}` : t.name })),
        ),
        names: [n.uniqueId, `model:${n.uniqueId}`, ...tests.map((t) => t.uniqueId)],
      };
    });
  return [...streams, ...models];
}

/** Every monitor id the pipeline declares, then any other with judged buckets (kinds this file need not know). */
export async function knownMonitorIds(d1: D1Database, config: SluiceConfig, manifest: Manifest): Promise<string[]> {
  const declared = [...streamMonitors(config).map((m) => m.id), ...declaredTestMonitors(manifest).map((m) => m.id)];
  const stored = await storedMonitorIds(d1);
  return [...new Set([...declared, ...stored.sort()])];
}

/** Each monitor's latest `limit` buckets, oldest first, read by key in one batch. */
export async function latestBuckets(d1: D1Database, ids: readonly string[], limit = defaultBuckets): Promise<Map<string, ChartBucket[]>> {
  if (ids.length === 0) return new Map();
  const db = drizzle(d1);
  const queries = ids.map((id) =>
    db.select().from(monitorBuckets).where(eq(monitorBuckets.monitorId, id)).orderBy(desc(monitorBuckets.bucketStart)).limit(limit),
  );
  const results = await db.batch(queries as [(typeof queries)[number], ...(typeof queries)[number][]]);
  return new Map(ids.map((id, i) => [id, results[i]!.map(toChartBucket).reverse()]));
}

/** A monitor's buckets starting in `[from, to]` (either open), oldest first. */
export async function bucketsBetween(d1: D1Database, id: string, from?: string, to?: string): Promise<ChartBucket[]> {
  const rows = await drizzle(d1)
    .select()
    .from(monitorBuckets)
    .where(
      and(
        eq(monitorBuckets.monitorId, id),
        from === undefined ? undefined : gte(monitorBuckets.bucketStart, new Date(from).toISOString()),
        to === undefined ? undefined : lte(monitorBuckets.bucketStart, new Date(to).toISOString()),
      ),
    )
    .orderBy(monitorBuckets.bucketStart);
  return rows.map(toChartBucket);
}

/** The newest anomalous buckets of every monitor, newest first. */
export async function newestAnomalies(d1: D1Database, limit: number): Promise<(ChartBucket & { monitorId: string })[]> {
  const rows = await drizzle(d1)
    .select()
    .from(monitorBuckets)
    .where(eq(monitorBuckets.anomalous, true))
    .orderBy(desc(monitorBuckets.bucketStart), desc(monitorBuckets.monitorId))
    .limit(limit);
  return rows.map((b) => ({ monitorId: b.monitorId, ...toChartBucket(b) }));
}

/** Each monitor's last judged bucket, for the quality page's list. */
export async function latestStates(d1: D1Database, ids: readonly string[]): Promise<Map<string, ChartBucket>> {
  const last = await lastJudged(d1, ids);
  return new Map([...last].map(([id, b]) => [id, toChartBucket(b)]));
}
