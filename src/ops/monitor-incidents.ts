/**
 * From judged buckets to incidents: a monitor whose newest judged bucket is anomalous has an open
 * `anomaly` incident (subject and chart: the monitor's id), refreshed with each anomalous bucket;
 * its first bucket back in range resolves it. In: each monitor's newest bucket judged this tick.
 * Out: incidents (ops/incidents.ts). Anomaly tests (`test:` monitors) raise `test_failed`
 * incidents through the build instead, so they are not doubled here; nor does a monitor tuned with
 * `incidents: false` (ops/monitor-settings.ts).
 */
import type { IncidentKind } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import type { JudgedBucket } from "../quality/anomaly.ts";
import type { BucketAnomaly } from "../quality/anomaly-tests.ts";
import { type IncidentInput, openIncident, openSubjects, resolveIncident } from "./incidents.ts";
import { monitorSettings } from "./monitor-settings.ts";
import { testMonitorId } from "./test-monitors.ts";

type Judged = Pick<JudgedBucket, "start" | "end" | "value" | "expectedLow" | "expectedHigh" | "z" | "anomalous"> & {
  reason?: JudgedBucket["reason"];
  /** What the value stands for, where the bucket says (a schema change's columns). */
  detail?: string | null;
};

const kind: IncidentKind = "anomaly";

/** Opens, refreshes or resolves the anomaly incident of each monitor from its newest judged bucket. */
export async function syncMonitorIncidents(runtime: Runtime, newest: ReadonlyMap<string, Judged>, now: Date = new Date()): Promise<void> {
  if (newest.size === 0) return;
  const open = new Set(await openSubjects(runtime, kind));
  for (const [monitorId, bucket] of newest) {
    if (monitorId.startsWith("test:")) continue;
    const alerting = monitorSettings(runtime.config, monitorId).incidents;
    if (bucket.anomalous && alerting) {
      await openIncident(
        runtime,
        {
          kind,
          subject: monitorId,
          monitorId,
          message: describeBucket(bucket),
          value: bucket.value,
          expectedLow: bucket.expectedLow,
          expectedHigh: bucket.expectedHigh,
        },
        now,
      );
    } else if (open.has(monitorId)) {
      const why = alerting ? `back in range: ${describeBucket(bucket)}` : "the monitor is tuned not to open incidents";
      await resolveIncident(runtime, kind, monitorId, why, now);
    }
  }
}

/**
 * A failing test's incident. An anomaly test's carries its newest anomalous bucket (value,
 * expected range, and its chart: the test's monitor for that metric or dimension value).
 */
export function testFailureIncident(uniqueId: string, message: string, anomalies: readonly BucketAnomaly[] = []): IncidentInput {
  const newest = anomalies.reduce<BucketAnomaly | undefined>((a, b) => (a === undefined || b.start >= a.start ? b : a), undefined);
  if (!newest) return { kind: "test_failed", subject: uniqueId, message };
  const label =
    newest.metric !== undefined ? { metric: newest.metric } : newest.dimension !== undefined ? { dimension: newest.dimension } : {};
  const part = newest.metric ?? newest.dimension;
  return {
    kind: "test_failed",
    subject: uniqueId,
    monitorId: testMonitorId(uniqueId, label),
    message: `${message}; newest${part === undefined ? "" : ` (${part})`}: ${describeBucket({ ...newest, anomalous: true })}`,
    value: newest.value,
    expectedLow: newest.expectedLow,
    expectedHigh: newest.expectedHigh,
  };
}

/** `12 in 2026-12-01 10:00–11:00 UTC, expected 80–140 (z -4.2)`; a silence says so; a detail follows. */
export function describeBucket(bucket: Judged): string {
  const described = describeValue(bucket);
  return bucket.detail ? `${described}: ${bucket.detail}` : described;
}

function describeValue(bucket: Judged): string {
  const when = `${bucket.start.slice(0, 16).replace("T", " ")}–${bucket.end.slice(11, 16)} UTC`;
  const value = bucket.value === null ? "no value" : formatNumber(bucket.value);
  if (bucket.reason === "silence") return `nothing arrived in ${when}`;
  if (bucket.expectedLow === null || bucket.expectedHigh === null) return `${value} in ${when}`;
  const z = bucket.z === null ? "" : ` (z ${bucket.z.toFixed(1)})`;
  return `${value} in ${when}, expected ${formatNumber(bucket.expectedLow)}–${formatNumber(bucket.expectedHigh)}${z}`;
}

const formatNumber = (n: number) => String(Number.isInteger(n) ? n : Number(n.toPrecision(3)));
