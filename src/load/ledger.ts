/**
 * The load ledger, `_sluice_loads`. Its row for a load is written by the same D1 batch (one
 * transaction) as the load's rows, and counts them inside that transaction, so the ledger can
 * never claim rows that did not commit, nor rows commit without a ledger row.
 */
import { getTableName } from "drizzle-orm";
import { loads } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";

export interface LedgerEntry {
  loadId: string;
  source: string;
  stream: string;
  records: number;
  /** Records of the batch sent to quarantine instead of the table. */
  quarantined: number;
  r2Key: string;
  bytes: number;
  startedAt: string;
}

/**
 * An INSERT for the ledger row of a completed load. `inserted` is the number of rows in
 * `table` that carry the load id; `duplicates` is what remains after inserted and quarantined.
 */
export function ledgerInsert(db: D1Database, table: string, entry: LedgerEntry): D1PreparedStatement {
  const ledger = quoteIdent(getTableName(loads));
  const counted = `(SELECT count(*) FROM ${quoteIdent(table)} WHERE "_sluice_load_id" = ?1)`;
  return db
    .prepare(
      `INSERT INTO ${ledger} (load_id, source, stream, status, records, inserted, duplicates, quarantined, r2_key, bytes, started_at, finished_at)
SELECT ?1, ?2, ?3, 'loaded', ?4, ${counted}, ?4 - ?8 - ${counted}, ?8, ?5, ?6, ?7, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    )
    .bind(entry.loadId, entry.source, entry.stream, entry.records, entry.r2Key, entry.bytes, entry.startedAt, entry.quarantined);
}
