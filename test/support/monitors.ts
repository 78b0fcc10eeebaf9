/**
 * History for the automatic monitors' tests, written straight into the tables the monitors read
 * (the load ledger, the webhook counts, the schema history), and their judged buckets read back.
 */
import { env } from "cloudflare:test";
import { hourMs } from "../../src/quality/stats.ts";
import { rows } from "./pipeline.ts";

export const iso = (ms: number) => new Date(ms).toISOString();

/** Where the tests' histories start: a Monday, so weekly slots line up with the calendar. */
export const historyStart = Date.UTC(2041, 0, 7);
/** Three normal weeks of hours: enough for hourly slots, not for weekly ones. */
export const normalHours = 3 * 7 * 24;

export interface LedgerLoad {
  at: number;
  loaded: number;
  quarantined: number;
}

/** Completed loads in the ledger, each started at `at`. */
export async function writeLoads(source: string, stream: string, loads: LedgerLoad[]) {
  const entries = loads.map((l) => [`${source}-${stream}-${l.at}`, l.loaded, l.quarantined, iso(l.at)]);
  for (let i = 0; i < entries.length; i += 500) {
    await env.DB.prepare(
      `INSERT INTO _sluice_loads (load_id, source, stream, status, records, inserted, duplicates, quarantined, started_at, finished_at)
       SELECT json_extract(value, '$[0]'), ?1, ?2, 'loaded', json_extract(value, '$[1]') + json_extract(value, '$[2]'),
         json_extract(value, '$[1]'), 0, json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[3]')
       FROM json_each(?3)`,
    )
      .bind(source, stream, JSON.stringify(entries.slice(i, i + 500)))
      .run();
  }
}

export interface LedgerHour {
  loaded: number;
  quarantined: number;
}

/** One completed load per hour in the ledger, started ten minutes into the hour. */
export const writeLedger = (source: string, stream: string, hours: LedgerHour[], firstHourMs: number) =>
  writeLoads(
    source,
    stream,
    hours.map((h, i) => ({ at: firstHourMs + i * hourMs + 600_000, ...h })),
  );

export interface CountedHour {
  hourMs: number;
  outcome: "accepted" | "rejected" | "handshake";
  reason?: string;
  count: number;
}

/** Webhook deliveries counted per hour, as the intake's background flush adds them up. */
export async function writeCounts(source: string, counted: CountedHour[]) {
  const entries = counted.map((c) => [iso(c.hourMs).slice(0, 13), c.outcome, c.reason ?? "", c.count]);
  for (let i = 0; i < entries.length; i += 500) {
    await env.DB.prepare(
      `INSERT INTO _sluice_webhook_counts (hour, source, stream, outcome, reason, count)
       SELECT json_extract(value, '$[0]'), ?1, CASE WHEN json_extract(value, '$[1]') = 'accepted' THEN 'events' ELSE '' END,
         json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
       FROM json_each(?2) WHERE true
       ON CONFLICT DO UPDATE SET count = count + excluded.count`,
    )
      .bind(source, JSON.stringify(entries.slice(i, i + 500)))
      .run();
  }
}

/** A schema version of a stream, as a load that changed its table's shape records it. */
export async function writeSchemaVersion(source: string, stream: string, version: number, columns: [string, string][], at: number) {
  await env.DB.prepare(
    `INSERT INTO _sluice_schema_versions (source, stream, version, hash, columns, change, load_id, created_at)
     VALUES (?1, ?2, ?3, ?4, ?5, 'by the test', NULL, ?6)`,
  )
    .bind(source, stream, version, columns.join(","), JSON.stringify(columns.map(([name, type]) => ({ name, type }))), iso(at))
    .run();
}

export type Stored = {
  monitor_id: string;
  bucket_start: string;
  bucket_end: string;
  value: number;
  rows: number;
  expected_low: number | null;
  expected_high: number | null;
  z: number | null;
  anomalous: number;
  detail: string | null;
};

export const stored = (monitor: string) =>
  rows<Stored>(
    `SELECT monitor_id, bucket_start, bucket_end, value, rows, expected_low, expected_high, z, anomalous, detail
     FROM _sluice_monitor_buckets WHERE monitor_id = ?1 ORDER BY bucket_start`,
    monitor,
  );

export const flagged = async (monitor: string) => (await stored(monitor)).filter((b) => b.anomalous === 1).map((b) => b.bucket_start);
