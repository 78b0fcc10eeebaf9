/**
 * Automatic monitors, with no configuration. Every declared stream, webhook or pulled, gets four:
 * `volume` (records loaded per hour) and `quarantine_rate` (quarantined / received), from the load
 * ledger (monitor-volume.ts); `freshness` (the longest the stream went without new rows, in
 * minutes; monitor-freshness.ts); `schema` (columns its table gained; monitor-schema.ts). Every
 * webhook source gets `rejection_rate` (deliveries refused / received; monitor-rejections.ts), per
 * source because a delivery is refused before it has a stream.
 *
 * In: the cron tick. Out: each monitor's complete hours judged by the anomaly model
 * (quality/anomaly.ts; schema changes need no statistics) and stored in `_sluice_monitor_buckets`,
 * upserted per monitor and bucket start (monitor-buckets.ts). A monitor with no stored bucket
 * judges all the history it has (its backfill); after that, each tick judges only the hours
 * completed since its last one, trained on the stored buckets before them. Each monitor is tuned by
 * its id (ops/monitor-settings.ts), and one whose newest bucket is anomalous has an open incident
 * (ops/monitor-incidents.ts).
 */
import { declaredStreams, type SluiceConfig } from "../config/index.ts";
import type { Runtime } from "../env.ts";
import type { JudgedBucket } from "../quality/anomaly.ts";
import { iso, type Judgement, lastJudged, type Pending, pendingHours, settleMs, storeJudged } from "./monitor-buckets.ts";
import { judgeFreshness } from "./monitor-freshness.ts";
import { syncMonitorIncidents } from "./monitor-incidents.ts";
import { judgeRejections } from "./monitor-rejections.ts";
import { judgeSchema } from "./monitor-schema.ts";
import { judgeVolume } from "./monitor-volume.ts";

export { lastJudged, settleMs, storeJudged } from "./monitor-buckets.ts";

export const streamMonitorKinds = ["volume", "quarantine_rate", "freshness", "schema"] as const;
export const sourceMonitorKinds = ["rejection_rate"] as const;
export const monitorKinds = [...streamMonitorKinds, ...sourceMonitorKinds] as const;
export type StreamMonitorKind = (typeof streamMonitorKinds)[number];
export type SourceMonitorKind = (typeof sourceMonitorKinds)[number];
export type MonitorKind = (typeof monitorKinds)[number];

export interface Monitor {
  id: string;
  kind: MonitorKind;
  source: string;
  /** Null for a source's own monitors. */
  stream: string | null;
}

export const monitorId = (source: string, stream: string, kind: StreamMonitorKind) => `stream:${source}.${stream}:${kind}`;
export const sourceMonitorId = (source: string, kind: SourceMonitorKind) => `source:${source}:${kind}`;

/** Every automatic monitor: the declared streams' in their order, then the webhook sources'. */
export function streamMonitors(config: SluiceConfig): Monitor[] {
  return [
    ...declaredStreams(config).flatMap(({ source, stream }) =>
      streamMonitorKinds.map((kind) => ({ id: monitorId(source, stream, kind), kind, source, stream })),
    ),
    ...Object.keys(config.sources).flatMap((source) =>
      sourceMonitorKinds.map((kind) => ({ id: sourceMonitorId(source, kind), kind, source, stream: null })),
    ),
  ];
}

/**
 * Each kind that keeps its own progress, with its judge (the quarantine rate moves with volume). A
 * judge reads one stream or source at a time, so a tick's reads stay few however many monitors there are.
 */
const judges: [MonitorKind, (pending: Pending) => Promise<Judgement[]>][] = [
  ["volume", (pending) => judgeVolume(pending, monitorId(pending.source, pending.stream, "quarantine_rate"))],
  ["freshness", judgeFreshness],
  ["schema", judgeSchema],
  ["rejection_rate", judgeRejections],
];

/**
 * Judges every monitor's complete, not yet judged hours, stores them, and opens or resolves each
 * judged monitor's anomaly incident from its newest bucket; returns how many buckets were stored.
 * The kinds run side by side, and one failing does not keep the others from storing theirs.
 */
export async function judgeStreamMonitors(runtime: Runtime, now: Date): Promise<number> {
  const judgeUntil = now.getTime() - settleMs;
  const monitors = streamMonitors(runtime.config);
  const last = await lastJudged(
    runtime.env.DB,
    monitors.filter((m) => judges.some(([kind]) => kind === m.kind)).map((m) => m.id),
  );
  const newest = new Map<string, JudgedBucket & { detail?: string | null }>();
  const results = await Promise.allSettled(
    judges.map(async ([kind, judge]) => {
      let stored = 0;
      for (const monitor of monitors.filter((m) => m.kind === kind)) {
        const pending = pendingHours(runtime, monitor, last.get(monitor.id), judgeUntil, now);
        for (const { id, judged, measured } of pending ? await judge(pending) : []) {
          stored += await storeJudged(runtime.env.DB, id, judged, measured, now);
          const latest = judged.at(-1);
          const detail = measured.find((h) => iso(h.startMs) === latest?.start)?.detail;
          if (latest) newest.set(id, { ...latest, detail });
        }
      }
      return stored;
    }),
  );
  await syncMonitorIncidents(runtime, newest, now);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.reduce((sum, r) => sum + (r.status === "fulfilled" ? r.value : 0), 0);
}
