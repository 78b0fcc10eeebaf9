/**
 * Null-rate monitors on every typed table, with no configuration: `table:<table>.<column>:null_rate`
 * for each column of each declared stream's table (Sluice's `_sluice_*` columns aside), the share
 * of the rows loaded in an hour that hold NULL in it. Only a rise is anomalous (a column that fills
 * up is no incident); the spread is at least the binomial one, as for the quarantine rate.
 *
 * In: the cron tick. Each tick reads, per table, at most `maxRowsPerTick` rows loaded since its
 * checkpoint (by the load-order column; table-scan.ts) and adds their rows and nulls to their
 * hour's counts (`_sluice_table_hours`), so an hour read over several ticks is still one bucket.
 * Out: each complete hour judged by the anomaly model, once, and stored in `_sluice_monitor_buckets`.
 * An hour is complete when it ended more than the settle time ago and the scan has read every load
 * that could have started in it. A table's first judgement judges all the history it has (its
 * backfill); every judgement trains on the stored counts. A column added by schema evolution starts
 * its own monitor with the load that added it. Monitors are tuned by id like the stream monitors
 * (monitor-settings.ts), and one whose newest bucket is anomalous has an open incident
 * (monitor-incidents.ts).
 */
import { getTableName } from "drizzle-orm";
import { chunkRows } from "../db/raw-tables.ts";
import { tableCheckpoints, tableHours } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { quoteIdent } from "../lib/sql.ts";
import { fillBuckets, type JudgedBucket, judgeSeries, type MetricBucket } from "../quality/anomaly.ts";
import { hourMs } from "../quality/stats.ts";
import { bucketsOf, bucketUpserts, historyMs, type StoredBucket, settleMs } from "./monitor-buckets.ts";
import { syncMonitorIncidents } from "./monitor-incidents.ts";
import { tunedOptions } from "./monitor-settings.ts";
import { type HourCount, type MonitoredTable, monitoredTables, type ScanPosition, scanTable } from "./table-scan.ts";

export const tableMonitorId = (table: string, column: string) => `table:${table}.${column}:null_rate`;

/** Rows read per table per tick: a large backlog (or a first enable on a big table) is read over several ticks. */
export const maxRowsPerTick = 10_000;

interface Checkpoint extends ScanPosition {
  judgedUntil: string | null;
}

const checkpointTable = quoteIdent(getTableName(tableCheckpoints));
const hoursTable = quoteIdent(getTableName(tableHours));

/** Reads every typed table's new rows and judges its complete hours; returns how many buckets were stored. */
export async function judgeTableMonitors(runtime: Runtime, now: Date, options: { maxRows?: number } = {}): Promise<number> {
  const d1 = runtime.env.DB;
  const tables = (await monitoredTables(d1, runtime.config)).filter((t) => t.ordered && t.columns.length > 0);
  if (tables.length === 0) return 0;
  const { results } = await d1
    .prepare(
      `SELECT table_name, load_seq, row_id, judged_until FROM ${checkpointTable} WHERE table_name IN (SELECT value FROM json_each(?1))`,
    )
    .bind(JSON.stringify(tables.map((t) => t.table)))
    .all<{ table_name: string; load_seq: number; row_id: number; judged_until: string | null }>();
  const checkpoints = new Map(
    results.map((r) => [r.table_name, { loadSeq: r.load_seq, rowId: r.row_id, judgedUntil: r.judged_until } satisfies Checkpoint]),
  );
  let stored = 0;
  const failures: unknown[] = [];
  const newest = new Map<string, JudgedBucket>();
  // One table at a time, so a tick's reads do not crowd the loads; one failing does not stop the rest.
  for (const table of tables) {
    try {
      const judged = await checkTable(runtime, table, checkpoints.get(table.table), now, options.maxRows ?? maxRowsPerTick);
      stored += judged.length;
      // A monitor's buckets come oldest first: the last one set is its newest.
      for (const { monitorId, bucket } of judged) newest.set(monitorId, bucket);
    } catch (error) {
      runtime.log.error("monitors.table_failed", { table: table.table, error });
      failures.push(error);
    }
  }
  await syncMonitorIncidents(runtime, newest, now);
  if (failures.length > 0) throw failures[0];
  return stored;
}

/** Reads a table's new rows and judges its complete hours; returns the buckets stored. */
async function checkTable(
  runtime: Runtime,
  table: MonitoredTable,
  checkpoint: Checkpoint | undefined,
  now: Date,
  maxRows: number,
): Promise<StoredBucket[]> {
  const d1 = runtime.env.DB;
  const from = checkpoint ?? { loadSeq: 0, rowId: 0 };
  const scan = await scanTable(d1, table, from, maxRows);
  if (scan.reached) {
    const moved = await addCounts(d1, table.table, from, scan.reached, scan.counts, now);
    // Another tick read these rows first: it judges them.
    if (!moved) return [];
  } else if (!checkpoint) return [];
  // Loads commit within the settle time of their start, in load order: a load not read yet started
  // at most that long before the last one read (or before now, when every load is read).
  const caughtUp = scan.rowsRead < maxRows;
  const latest = caughtUp ? now.getTime() : Math.min(now.getTime(), scan.lastLoadStartMs ?? now.getTime());
  const completeUntil = Math.floor((latest - settleMs) / hourMs) * hourMs;
  const judgedUntil = checkpoint?.judgedUntil ? Date.parse(checkpoint.judgedUntil) : undefined;
  if (judgedUntil !== undefined && completeUntil <= judgedUntil) return [];
  return judgeHours(runtime, table.table, judgedUntil, completeUntil, now);
}

/**
 * Moves the checkpoint from `from` to `to` and adds the counts, in one transaction; nothing if
 * another tick moved it first (the counts are added only under this tick's mark). Returns whether it moved.
 */
async function addCounts(
  d1: D1Database,
  table: string,
  from: ScanPosition,
  to: ScanPosition,
  counts: readonly HourCount[],
  now: Date,
): Promise<boolean> {
  const tick = crypto.randomUUID();
  const rows = counts.map((c) => JSON.stringify([c.bucketStart, c.column, c.rows, c.nulls]));
  const [move] = await d1.batch([
    d1
      .prepare(
        `INSERT INTO ${checkpointTable} (table_name, load_seq, row_id, tick, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (table_name) DO UPDATE SET load_seq = excluded.load_seq, row_id = excluded.row_id, tick = excluded.tick,
  updated_at = excluded.updated_at WHERE load_seq = ?6 AND row_id = ?7`,
      )
      .bind(table, to.loadSeq, to.rowId, tick, now.toISOString(), from.loadSeq, from.rowId),
    ...chunkRows(rows).map((chunk) =>
      d1
        .prepare(
          `INSERT INTO ${hoursTable} (table_name, bucket_start, column_name, rows, nulls)
SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
FROM json_each(?2) WHERE EXISTS (SELECT 1 FROM ${checkpointTable} WHERE table_name = ?1 AND tick = ?3)
ON CONFLICT (table_name, bucket_start, column_name) DO UPDATE SET rows = rows + excluded.rows, nulls = nulls + excluded.nulls`,
        )
        .bind(table, chunk, tick),
    ),
  ]);
  return (move?.meta.changes ?? 0) > 0;
}

/**
 * Judges the hours in `[judgedUntil, untilMs)` of every column (all of them the first time),
 * trained on the stored counts before them, stores them, and marks the table judged up to `untilMs`.
 */
async function judgeHours(
  runtime: Runtime,
  table: string,
  judgedUntil: number | undefined,
  untilMs: number,
  now: Date,
): Promise<StoredBucket[]> {
  const d1 = runtime.env.DB;
  const fromMs = judgedUntil === undefined ? 0 : judgedUntil - historyMs;
  const mark = () =>
    d1
      .prepare(`UPDATE ${checkpointTable} SET judged_until = ?2 WHERE table_name = ?1 AND (judged_until IS NULL OR judged_until < ?2)`)
      .bind(table, new Date(untilMs).toISOString());
  // Hours in which nothing was loaded have no null rate: with none to judge, the history is not read.
  if (judgedUntil !== undefined) {
    const pending = await d1
      .prepare(`SELECT 1 FROM ${hoursTable} WHERE table_name = ?1 AND bucket_start >= ?2 AND bucket_start < ?3 LIMIT 1`)
      .bind(table, new Date(judgedUntil).toISOString(), new Date(untilMs).toISOString())
      .first();
    if (pending === null) {
      await mark().run();
      return [];
    }
  }
  const rows = await d1
    .prepare(
      `SELECT bucket_start, column_name, rows, nulls FROM ${hoursTable} WHERE table_name = ?1 AND bucket_start >= ?2 AND bucket_start < ?3`,
    )
    .bind(table, new Date(fromMs).toISOString(), new Date(untilMs).toISOString())
    .raw<[string, string, number, number]>();
  const byColumn = new Map<string, Map<number, MetricBucket>>();
  for (const [start, column, measured, nulls] of rows) {
    const startMs = Date.parse(start);
    const hours = byColumn.get(column) ?? new Map<number, MetricBucket>();
    hours.set(startMs, { startMs, value: measured === 0 ? null : nulls / measured, rows: measured });
    byColumn.set(column, hours);
  }
  const buckets: StoredBucket[] = [];
  for (const [column, hours] of byColumn) {
    // A column's series starts with its first counted hour: a new column is a new monitor.
    const series = fillBuckets(hours, Math.min(...hours.keys()), untilMs, hourMs, (startMs) => ({ startMs, value: null, rows: 0 }));
    const id = tableMonitorId(table, column);
    const judged = judgeSeries(
      series,
      tunedOptions(runtime.config, id, {
        bucketMs: hourMs,
        nowMs: untilMs,
        direction: "spike",
        proportion: true,
        nonNegative: true,
        ...(judgedUntil === undefined ? {} : { detectFromMs: judgedUntil }),
      }),
    );
    buckets.push(...bucketsOf(id, judged, series));
  }
  await d1.batch([
    ...bucketUpserts(d1, buckets, now),
    mark(),
    d1
      .prepare(`DELETE FROM ${hoursTable} WHERE table_name = ?1 AND bucket_start < ?2`)
      .bind(table, new Date(untilMs - historyMs).toISOString()),
  ]);
  return buckets;
}
