/**
 * The load ledger, `_sluice_loads`, and the schema history, `_sluice_schema_versions`. Their rows
 * are written by the same D1 batch (one transaction) as the load's rows, and the ledger counts
 * those rows inside that transaction, so it can never claim rows that did not commit, nor rows
 * commit without a ledger row.
 *
 * Each count is taken on its own, so the balance `records = inserted + duplicates + quarantined +
 * filtered` that `/v1/reconcile` checks can fail: duplicates are counted before the writes, as the
 * records whose key the table (or quarantine) already held; rows by what each write changed
 * (`changes()`), or for merge by the rows that carry the load id; quarantine rows by load id. A
 * write that drops a record it should have kept leaves the balance short.
 */
import { getTableName } from "drizzle-orm";
import { ownedSql, resolvedKeySql } from "../db/bound-keys.ts";
import type { Column } from "../db/column-types.ts";
import { loads, quarantine, schemaVersions, sequences } from "../db/schema.ts";
import { memoize } from "../lib/memo.ts";
import { quoteIdent } from "../lib/sql.ts";

export interface LedgerEntry {
  loadId: string;
  kind: "ingest" | "replay" | "redrive";
  source: string;
  stream: string;
  records: number;
  filtered: number;
  r2Key: string;
  bytes: number;
  startedAt: string;
}

/**
 * What the load is about to write, for counting its duplicates: each distinct record as
 * `[key, bodyHash | null, 0 for a row | 1 for a quarantine row]`, and how many records repeated
 * one of those within the load itself. A merge stream's rows are not listed: merge folds records
 * into rows by primary key, so its records beyond the rows they touched were superseded.
 */
export interface LoadKeys {
  distinct: string[];
  repeats: number;
  mergeRows: number;
  /** The batch binds keys just before the ledger opens (see db/bound-keys.ts). */
  boundKeys: boolean;
}

const loadsTable = quoteIdent(getTableName(loads));
const quarantineTable = quoteIdent(getTableName(quarantine));

/** The load's number in commit order: one counter for the whole database, bumped in the batch. */
export function nextLoadSeq(db: D1Database): D1PreparedStatement {
  return db.prepare(
    `INSERT INTO ${quoteIdent(getTableName(sequences))} (name, value) VALUES ('load', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1`,
  );
}

/** Records of `?5` (JSON, see LoadKeys) that the table or quarantine already held before the writes. */
const knownSql = (table: string) => `(SELECT count(*) FROM (
    SELECT q, h, ${resolvedKeySql("k", "h", "?3")} AS rk
    FROM (SELECT json_extract(value, '$[0]') AS k, json_extract(value, '$[1]') AS h, json_extract(value, '$[2]') AS q FROM json_each(?5)))
  WHERE NOT ${ownedSql("rk", "h", "?3", "?4")}
    OR (q = 0 AND EXISTS (SELECT 1 FROM ${quoteIdent(table)} WHERE "_sluice_key" = rk))
    OR (q = 1 AND EXISTS (SELECT 1 FROM ${quarantineTable} WHERE source = ?3 AND stream = ?4 AND key = rk AND status = 'open')))`;

const openSqlFor = memoize(
  1000,
  (table) =>
    `INSERT INTO ${loadsTable} (load_id, kind, source, stream, status, records, inserted, duplicates, quarantined, filtered, key_conflicts, load_seq, r2_key, bytes, started_at)
SELECT ?1, ?2, ?3, ?4, 'loaded', ?6, 0, ?7 + ${knownSql(table)}, 0, ?8, CASE WHEN ?9 THEN changes() ELSE 0 END,
  (SELECT value FROM ${quoteIdent(getTableName(sequences))} WHERE name = 'load'), ?10, ?11, ?12`,
);

const moreSqlFor = memoize(1000, (table) => `UPDATE ${loadsTable} SET duplicates = duplicates + ${knownSql(table)} WHERE load_id = ?1`);

/**
 * Opens the ledger row of a load, before its writes: its duplicates are counted here against the
 * table as it was. Placed right after the key binding (if any), whose new conflicts it counts.
 * Returns one statement per chunk of distinct keys.
 */
export function ledgerOpen(db: D1Database, table: string, entry: LedgerEntry, keys: LoadKeys): D1PreparedStatement[] {
  const [first = "[]", ...more] = keys.distinct;
  return [
    db
      .prepare(openSqlFor(table))
      .bind(
        entry.loadId,
        entry.kind,
        entry.source,
        entry.stream,
        first,
        entry.records,
        keys.repeats,
        entry.filtered,
        keys.boundKeys ? 1 : 0,
        entry.r2Key,
        entry.bytes,
        entry.startedAt,
      ),
    ...more.map((chunk) => db.prepare(moreSqlFor(table)).bind(entry.loadId, null, entry.source, entry.stream, chunk)),
  ];
}

const countWriteSql = `UPDATE ${loadsTable} SET inserted = inserted + changes() WHERE load_id = ?1`;

/**
 * Placed right after each append or replace write: adds the rows that write inserted, which
 * SQLite's `changes()` reports for the statement just before. A record whose key the table already
 * held (`ON CONFLICT DO NOTHING`) or that a bound key routes elsewhere changes nothing, so it is
 * not counted; no index on the load id is needed, and none is kept (it cost every write).
 */
export function ledgerCountWrite(db: D1Database, loadId: string): D1PreparedStatement {
  return db.prepare(countWriteSql).bind(loadId);
}

const countMergedSqlFor = memoize(
  1000,
  (table) =>
    `UPDATE ${loadsTable} SET inserted = inserted + (SELECT count(*) FROM ${quoteIdent(table)}
  WHERE "_sluice_key" IN (SELECT value FROM json_each(?2)) AND "_sluice_load_id" = ?1) WHERE load_id = ?1`,
);

/**
 * After a merge load's writes, one statement per chunk of the distinct keys of its rows (a JSON
 * array of keys): adds the rows that carry the load id, found by key through the merge table's
 * key index. `changes()` would count a row twice when two records of the load share a primary key
 * (an insert, then an update), and the second record was superseded, not loaded. Each row holds
 * one key and the chunks share none, so no row is counted twice.
 */
export function ledgerCountMerged(db: D1Database, table: string, loadId: string, keys: string): D1PreparedStatement {
  return db.prepare(countMergedSqlFor(table)).bind(loadId, keys);
}

const closeSql = `UPDATE ${loadsTable} SET quarantined = held.n,
  duplicates = duplicates + max(?2 - inserted, 0), finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM (SELECT count(*) AS n FROM ${quarantineTable} WHERE load_id = ?1) AS held
WHERE load_id = ?1
RETURNING inserted, duplicates, quarantined, key_conflicts, load_seq`;

/**
 * Closes the ledger row after the writes and their counts (ledgerCountWrite, ledgerCountMerged):
 * `inserted` holds the rows the load inserted (for merge: rows it inserted or updated);
 * `quarantined` is the quarantine rows it opened. Returns the row's counts.
 */
export function ledgerClose(db: D1Database, loadId: string, keys: LoadKeys): D1PreparedStatement {
  return db.prepare(closeSql).bind(loadId, keys.mergeRows);
}

export interface LedgerCounts {
  inserted: number;
  duplicates: number;
  quarantined: number;
  key_conflicts: number;
  load_seq: number;
}

/** A new schema version for the stream, numbered after the latest one, inside the load's batch. */
export function schemaVersionInsert(
  db: D1Database,
  entry: { source: string; stream: string; hash: string; columns: readonly Column[]; change: string; loadId: string },
): D1PreparedStatement {
  const table = quoteIdent(getTableName(schemaVersions));
  return db
    .prepare(
      `INSERT INTO ${table} (source, stream, version, hash, columns, change, load_id, created_at)
SELECT ?1, ?2, coalesce(max(version), 0) + 1, ?3, ?4, ?5, ?6, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM ${table} WHERE source = ?1 AND stream = ?2`,
    )
    .bind(entry.source, entry.stream, entry.hash, JSON.stringify(entry.columns), entry.change, entry.loadId);
}
