/**
 * SQL for the tables that hold landed records, `raw_<source>__<stream>`: their DDL, the columns
 * schema evolution adds, and the bulk write for each disposition. Records travel as one JSON
 * array of row arrays per statement and are unpacked by `json_each`, so a statement has three
 * bound parameters however many rows and columns it carries. Identifiers are always quoted by
 * `quoteIdent`; values are always bound.
 */
import { getTableName } from "drizzle-orm";
import { Memo } from "../lib/memo.ts";
import { quoteIdent } from "../lib/sql.ts";
import { ownedSql, resolvedKeySql } from "./bound-keys.ts";
import { type Column, sqlTypes, typeFromDeclared } from "./column-types.ts";
import { sequences } from "./schema.ts";

export type Disposition = "append" | "merge" | "replace";

/** The columns every landed row carries, in this order, before its own columns. */
export const systemColumns = ["_sluice_key", "_sluice_load_id", "_sluice_received_at", "_sluice_source_object"] as const;

/**
 * The load-order column: the number of the load that last wrote the row, from one counter for the
 * whole database bumped inside each load's batch, so it grows in commit order. Incremental models
 * take "rows loaded since last time" by it. Rows loaded before the column existed hold NULL.
 */
export const loadSeqColumn = "_sluice_load_seq";

/** The current load's number, inside its batch (after the counter was bumped). */
export const currentLoadSeqSql = `(SELECT value FROM ${quoteIdent(getTableName(sequences))} WHERE name = 'load')`;

/**
 * JSON characters bound into one statement. D1 rejects a parameter over about 2 MB; 600 K
 * UTF-16 characters stay below that even if every character took three bytes of UTF-8.
 */
export const maxChunkChars = 600_000;

export function stagingTable(table: string): string {
  return `${table}__staging`;
}

/**
 * Append and replace tables are unique on the record key (the primary key, so the constraint
 * survives a rename). Merge tables are unique on the stream's primary key instead, so the key is
 * an ordinary indexed column there.
 */
export function createTableSql(table: string, disposition: Disposition, columns: readonly Column[] = []): string {
  const key = disposition === "merge" ? `"_sluice_key" TEXT NOT NULL` : `"_sluice_key" TEXT PRIMARY KEY NOT NULL`;
  const own = columns.map((column) => `,\n  ${quoteIdent(column.name)} ${sqlTypes[column.type]}`).join("");
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
  ${key},
  "_sluice_load_id" TEXT NOT NULL,
  "_sluice_received_at" TEXT NOT NULL,
  "_sluice_source_object" TEXT NOT NULL,
  "${loadSeqColumn}" INTEGER${own}
)`;
}

/** Adds the load-order column to a table created before it existed (its rows keep NULL). */
export function addLoadSeqSql(table: string): string {
  return `ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${quoteIdent(loadSeqColumn)} INTEGER`;
}

/**
 * The load-order index. Partial: rows from before the column existed are never asked for by it,
 * and building it on an upgraded table writes nothing for them.
 */
export function loadSeqIndexSql(table: string): string {
  const seq = quoteIdent(loadSeqColumn);
  return `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}__seq_idx`)} ON ${quoteIdent(table)} (${seq}) WHERE ${seq} IS NOT NULL`;
}

/**
 * Drops the indexes older versions of Sluice kept and this one does not: the index by load id,
 * which only the ledger's counts read. Run once per table by each isolate (with the table's other
 * DDL), so a deployed table stops paying for it on its next load.
 */
export function retiredIndexSql(table: string): string[] {
  return [`DROP INDEX IF EXISTS ${quoteIdent(`${table}__load_idx`)}`];
}

export function addColumnSql(table: string, column: Column): string {
  return `ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${quoteIdent(column.name)} ${sqlTypes[column.type]}`;
}

/**
 * Indexes by load order, and for merge by key and primary key. Nothing else: every index is paid
 * for by every write. (The ledger counts a load's rows with `changes()`, not by load id.)
 */
export function indexSql(table: string, disposition: Disposition, primaryKey: readonly string[] = []): string[] {
  const statements = [loadSeqIndexSql(table)];
  if (disposition === "merge") {
    statements.push(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}__key_idx`)} ON ${quoteIdent(table)} ("_sluice_key")`);
    statements.push(
      `CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdent(`${table}__pk`)} ON ${quoteIdent(table)} (${primaryKey.map(quoteIdent).join(", ")})`,
    );
  }
  return statements;
}

/**
 * Whatever reads a table's columns: D1, by its shape (so the build, in Node, can import this
 * module's DDL without Workers' types).
 */
interface ColumnReader {
  prepare(sql: string): { bind(...values: unknown[]): { all<T>(): Promise<{ results: T[] }> } };
}

/** The current columns of a table (none if it does not exist), with their logical types. */
export async function tableColumns(db: ColumnReader, table: string): Promise<Column[]> {
  const { results } = await db.prepare("SELECT name, type FROM pragma_table_info(?1)").bind(table).all<{ name: string; type: string }>();
  return results.map((row) => ({ name: row.name, type: typeFromDeclared(row.type) }));
}

export interface WriteOptions {
  disposition: Disposition;
  primaryKey?: readonly string[];
  cursor?: string | undefined;
  /**
   * Rows end with the body hash of a key taken from outside the signature (or null): such a row
   * is stored under its resolved key (see db/bound-keys.ts) and only in the stream its key and
   * body were first routed to. `?4` is then the source and `?5` the stream.
   */
  boundKeys?: boolean;
}

const writeStatements = new Memo<string>(1000);

/**
 * One bulk write: `?1` is the load id, `?2` the raw object key, `?3` a JSON array of rows, each
 * `[key, receivedAt, ...values in the order of columns]` (then the body hash, with `boundKeys`).
 * Every row takes the load's place in commit order, `_sluice_load_seq`.
 */
export function writeRowsSql(table: string, columns: readonly string[], options: WriteOptions): string {
  // Built once per shape: every batch of a stream writes with the same statement.
  const key = [
    table,
    options.disposition,
    (options.primaryKey ?? []).join(","),
    options.cursor ?? "",
    options.boundKeys ? "1" : "",
    columns.join(","),
  ].join("\0");
  return writeStatements.get(key, () => buildWriteRowsSql(table, columns, options));
}

function buildWriteRowsSql(table: string, columns: readonly string[], options: WriteOptions): string {
  const target = quoteIdent(table);
  const names = [...systemColumns, loadSeqColumn, ...columns].map(quoteIdent).join(", ");
  const values = [
    options.boundKeys ? "rk" : "json_extract(value, '$[0]')",
    "?1",
    "json_extract(value, '$[1]')",
    "?2",
    currentLoadSeqSql,
    ...columns.map((_, i) => `json_extract(value, '$[${i + 2}]')`),
  ].join(", ");
  const from = options.boundKeys
    ? `FROM (SELECT value, h, ${resolvedKeySql("k", "h", "?4")} AS rk
  FROM (SELECT value, json_extract(value, '$[0]') AS k, json_extract(value, '$[#-1]') AS h FROM json_each(?3)))
WHERE ${ownedSql("rk", "h", "?4", "?5")}`
    : "FROM json_each(?3)\nWHERE true";
  const insert = `INSERT INTO ${target} (${names})\nSELECT ${values}\n${from}`;
  if (options.disposition !== "merge") return `${insert}\nON CONFLICT ("_sluice_key") DO NOTHING`;

  const keys = new Set(options.primaryKey ?? []);
  const updates = [...systemColumns, loadSeqColumn, ...columns]
    .filter((name) => !keys.has(name))
    .map((name) => `${quoteIdent(name)} = excluded.${quoteIdent(name)}`)
    .join(", ");
  // Queues deliver out of order: a record older than the stored row (by the cursor) never wins.
  const newer = options.cursor
    ? `\nWHERE ${target}.${quoteIdent(options.cursor)} IS NULL OR excluded.${quoteIdent(options.cursor)} >= ${target}.${quoteIdent(options.cursor)}`
    : "";
  return `${insert}\nON CONFLICT (${[...keys].map(quoteIdent).join(", ")}) DO UPDATE SET ${updates}${newer}`;
}

/** Splits rows (already JSON-encoded) into JSON arrays of at most `maxChars` (a larger row stands alone). */
export function chunkRows(rows: readonly string[], maxChars = maxChunkChars): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const row of rows) {
    if (current.length > 0 && size + row.length + 1 > maxChars) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(row);
    size += row.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}

/**
 * Swaps a fully loaded staging table in for the table, in one batch (one transaction). SQLite
 * cannot rename an index, so the staging table's index is dropped and the table's recreated.
 */
export function swapStagingSql(table: string): string[] {
  const staging = stagingTable(table);
  // legacy_alter_table: views over the table (staging models) must not block the rename.
  return [
    "PRAGMA legacy_alter_table = ON",
    `DROP TABLE IF EXISTS ${quoteIdent(table)}`,
    `ALTER TABLE ${quoteIdent(staging)} RENAME TO ${quoteIdent(table)}`,
    "PRAGMA legacy_alter_table = OFF",
    ...retiredIndexSql(staging),
    `DROP INDEX IF EXISTS ${quoteIdent(`${staging}__seq_idx`)}`,
    ...indexSql(table, "replace"),
  ];
}
