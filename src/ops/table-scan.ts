/**
 * Reading the typed tables for their null-rate monitors, off the load path. In: the declared
 * streams' tables, each with a checkpoint (load order, rowid) and a row budget. Out: each table's
 * columns as the loader made them, and, per hour its rows' loads started in, the rows and nulls of
 * each column among the rows loaded after the checkpoint, with the checkpoint they reach.
 *
 * One statement per table: the next rows in load order (by the load-order index), counted per
 * load, each column's nulls by `sum(col IS NULL)`. A load's hour comes from its id, which carries
 * its start (as the ledger's `started_at`), so no ledger lookup is needed.
 */
import { getTableName } from "drizzle-orm";
import type { SluiceConfig } from "../config/index.ts";
import { declaredStreams } from "../config/index.ts";
import { loadSeqColumn } from "../db/raw-tables.ts";
import { fieldColumns, loads } from "../db/schema.ts";
import { timeOfId } from "../lib/ids.ts";
import { quoteIdent, rawTableName } from "../lib/sql.ts";
import { hourMs } from "../quality/stats.ts";

/** A typed table and the columns its null-rate monitors watch. */
export interface MonitoredTable {
  table: string;
  /** Its own columns, in table order: Sluice's `_sluice_*` columns are not monitored. */
  columns: string[];
  /** The load order of the load that added each column: rows loaded before it never had the column. */
  since: Map<string, number>;
  /** Whether it has the load-order column (a table from before it gets it on its next load). */
  ordered: boolean;
}

/** Where a scan stands: the last row counted, by load order then rowid. */
export interface ScanPosition {
  loadSeq: number;
  rowId: number;
}

/** One column's rows and nulls in one hour. */
export interface HourCount {
  bucketStart: string;
  column: string;
  rows: number;
  nulls: number;
}

export interface ScanResult {
  counts: HourCount[];
  /** The last row read; undefined when there was nothing after the checkpoint. */
  reached: ScanPosition | undefined;
  rowsRead: number;
  /** When the load of the last row read started. */
  lastLoadStartMs: number | undefined;
}

const isOwnColumn = (name: string) => !name.startsWith("_sluice");

/** The declared streams' tables with their columns (none for a table not created yet), in one batch. */
export async function monitoredTables(d1: D1Database, config: SluiceConfig): Promise<MonitoredTable[]> {
  const tables = [...new Set(declaredStreams(config).map(({ source, stream }) => rawTableName(source, stream)))];
  if (tables.length === 0) return [];
  const map = quoteIdent(getTableName(fieldColumns));
  const ledger = quoteIdent(getTableName(loads));
  const results = await d1.batch(
    tables.flatMap((table) => [
      d1.prepare("SELECT name, type FROM pragma_table_info(?1)").bind(table),
      d1
        .prepare(`SELECT c.column_name, l.load_seq FROM ${map} c JOIN ${ledger} l ON l.load_id = c.load_id WHERE c.table_name = ?1`)
        .bind(table),
    ]),
  );
  return tables.map((table, i) => {
    const names = (results[2 * i]!.results as { name: string }[]).map((row) => row.name);
    const starts = results[2 * i + 1]!.results as { column_name: string; load_seq: number | null }[];
    return {
      table,
      columns: names.filter(isOwnColumn),
      since: new Map(starts.flatMap((row) => (row.load_seq === null ? [] : [[row.column_name, row.load_seq] as const]))),
      ordered: names.includes(loadSeqColumn),
    };
  });
}

/** Reads at most `maxRows` rows after `from` and counts them per load hour and column. */
export async function scanTable(d1: D1Database, shape: MonitoredTable, from: ScanPosition, maxRows: number): Promise<ScanResult> {
  const { columns } = shape;
  const rows = await d1.prepare(scanSql(shape)).bind(from.loadSeq, from.rowId, maxRows).raw<(number | string | null)[]>();
  const counts = new Map<string, HourCount>();
  let rowsRead = 0;
  let lastLoadStartMs: number | undefined;
  for (const [seq, loadId, receivedAt, n, , ...nulls] of rows) {
    const startMs = timeOfId(String(loadId)) ?? Date.parse(String(receivedAt));
    const bucketStart = new Date(Math.floor(startMs / hourMs) * hourMs).toISOString();
    rowsRead += Number(n);
    lastLoadStartMs = startMs;
    for (const [i, column] of columns.entries()) {
      if (Number(seq) < (shape.since.get(column) ?? 0)) continue;
      const key = `${bucketStart}\0${column}`;
      const count = counts.get(key) ?? { bucketStart, column, rows: 0, nulls: 0 };
      count.rows += Number(n);
      count.nulls += Number(nulls[i]);
      counts.set(key, count);
    }
  }
  const last = rows.at(-1);
  return {
    counts: [...counts.values()],
    reached: last ? { loadSeq: Number(last[0]), rowId: Number(last[4]) } : undefined,
    rowsRead,
    lastLoadStartMs,
  };
}

/**
 * `?1`/`?2`: the checkpoint's load order and rowid; `?3`: the row budget. Columns: load order, load
 * id, first receive time, rows, last rowid, then each column's nulls. `seq >= ?1` keeps the scan on
 * the load-order index; the rows of the checkpoint's own load before its rowid are skipped.
 */
function scanSql({ table, columns }: MonitoredTable): string {
  // A user column may be called rowid; SQLite's other names for it then still reach the row.
  const rowid = ["rowid", "_rowid_", "oid"].find((name) => !columns.includes(name));
  if (!rowid) throw new Error(`${table} has columns named rowid, _rowid_ and oid: its rows cannot be read in order`);
  const seq = quoteIdent(loadSeqColumn);
  const picked = columns.map((c) => `, ${quoteIdent(c)}`).join("");
  const nulls = columns.map((c) => `, sum(${quoteIdent(c)} IS NULL)`).join("");
  return `SELECT ${seq}, max("_sluice_load_id"), min("_sluice_received_at"), count(*), max("_sluice_row")${nulls}
FROM (SELECT ${rowid} AS "_sluice_row", ${seq}, "_sluice_load_id", "_sluice_received_at"${picked} FROM ${quoteIdent(table)}
  WHERE ${seq} >= ?1 AND (${seq} > ?1 OR ${rowid} > ?2) ORDER BY ${seq}, ${rowid} LIMIT ?3)
GROUP BY 1 ORDER BY 1`;
}
