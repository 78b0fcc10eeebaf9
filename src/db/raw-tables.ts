/**
 * The D1 table that holds a stream's landed records, `raw_<source>__<stream>`, and the bulk
 * insert into it. Rows are unique on `_sluice_key`, so a redelivered record is loaded once.
 * Records travel as one JSON array per statement and are unpacked by `json_each`, which keeps
 * the statement at three bound parameters however many records it carries.
 */
import { quoteIdent, rawTableName } from "../lib/sql.ts";

/**
 * Characters of JSON bound into one statement. D1 rejects a parameter over about 2 MB; 600 K
 * UTF-16 characters stay below that even if every character took three bytes of UTF-8.
 */
export const maxChunkChars = 600_000;

export interface RawRow {
  key: string;
  receivedAt: string;
  /** The record, serialised as JSON text. */
  payload: string;
}

export function createRawTableSql(source: string, stream: string): string {
  const table = quoteIdent(rawTableName(source, stream));
  return `CREATE TABLE IF NOT EXISTS ${table} (
  "_sluice_key" TEXT PRIMARY KEY NOT NULL,
  "_sluice_load_id" TEXT NOT NULL,
  "_sluice_received_at" TEXT NOT NULL,
  "_sluice_source_object" TEXT NOT NULL,
  "payload" TEXT NOT NULL
)`;
}

/** Rows by load id: the ledger counts a load's rows with it, and replays find them with it. */
export function createLoadIndexSql(source: string, stream: string): string {
  const table = rawTableName(source, stream);
  return `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}__load_idx`)} ON ${quoteIdent(table)} ("_sluice_load_id")`;
}

export function insertRawRowsSql(source: string, stream: string): string {
  const table = quoteIdent(rawTableName(source, stream));
  return `INSERT INTO ${table} ("_sluice_key", "_sluice_load_id", "_sluice_received_at", "_sluice_source_object", "payload")
SELECT json_extract(value, '$.k'), ?1, json_extract(value, '$.r'), ?2, json_extract(value, '$.p')
FROM json_each(?3)
WHERE true
ON CONFLICT ("_sluice_key") DO NOTHING`;
}

/** Splits rows into JSON arrays of at most `maxChars` each (a single larger row stands alone). */
export function chunkRows(rows: readonly RawRow[], maxChars = maxChunkChars): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const row of rows) {
    const item = JSON.stringify({ k: row.key, r: row.receivedAt, p: row.payload });
    if (current.length > 0 && size + item.length + 1 > maxChars) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(item);
    size += item.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}
