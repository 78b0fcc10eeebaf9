/**
 * The load ledger, `_sluice_loads`, and the schema history, `_sluice_schema_versions`. Their rows
 * are written by the same D1 batch (one transaction) as the load's rows, and the ledger counts
 * those rows inside that transaction, so it can never claim rows that did not commit, nor rows
 * commit without a ledger row.
 */
import { getTableName } from "drizzle-orm";
import { loads, quarantine, schemaVersions } from "../db/schema.ts";
import type { Column } from "../db/column-types.ts";
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

const ledgerSqlFor = memoize(1000, (table) =>
  `INSERT INTO ${quoteIdent(getTableName(loads))} (load_id, kind, source, stream, status, records, inserted, duplicates, quarantined, filtered, r2_key, bytes, started_at, finished_at)
SELECT ?1, ?2, ?3, ?4, 'loaded', ?5, loaded.n, ?5 - held.n - ?6 - loaded.n, held.n, ?6, ?7, ?8, ?9, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM (SELECT count(*) AS n FROM ${quoteIdent(table)} WHERE "_sluice_load_id" = ?1) AS loaded,
  (SELECT count(*) AS n FROM ${quoteIdent(getTableName(quarantine))} WHERE load_id = ?1) AS held`,
);

/**
 * The ledger row of a completed load. `inserted` is the number of rows in `table` that carry the
 * load id (for merge: rows the load inserted or updated); `quarantined` the quarantine rows it
 * opened (a record already open there adds none); `duplicates` is the rest of the records.
 */
export function ledgerInsert(db: D1Database, table: string, entry: LedgerEntry): D1PreparedStatement {
  return db
    .prepare(ledgerSqlFor(table))
    .bind(entry.loadId, entry.kind, entry.source, entry.stream, entry.records, entry.filtered, entry.r2Key, entry.bytes, entry.startedAt);
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
