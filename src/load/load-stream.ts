/**
 * Loads the records of one stream from one queue batch. In: record lines with their payloads
 * resolved. Out: a raw-zone object in R2, then new rows in `raw_<source>__<stream>`, quarantine
 * rows for records D1 cannot hold, and a ledger row in `_sluice_loads`, all committed by one D1
 * batch (a transaction).
 */
import { drizzle } from "drizzle-orm/d1";
import { quarantine } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { newLoadId } from "../lib/ids.ts";
import { rawTableName } from "../lib/sql.ts";
import { ledgerInsert } from "./ledger.ts";
import { chunkRows, createLoadIndexSql, createRawTableSql, insertRawRowsSql, type RawRow } from "../db/raw-tables.ts";
import { type RawLine, rawObjectKey, writeRawObject } from "./raw-zone.ts";

/**
 * The largest record, as escaped JSON inside a bulk-load chunk, that D1 can take: a row holds at
 * most 2 MB and one bound parameter about 2.1 MB. Larger records stay whole in the raw zone and
 * get a quarantine row pointing at it.
 */
export const maxRecordBytes = 1_800_000;

export interface LoadResult {
  loadId: string;
  source: string;
  stream: string;
  records: number;
  inserted: number;
  duplicates: number;
  quarantined: number;
  r2Key: string;
}

export async function loadStream(
  runtime: Runtime,
  source: string,
  stream: string,
  lines: readonly RawLine[],
): Promise<LoadResult> {
  const { env } = runtime;
  const started = new Date();
  const loadId = newLoadId(started.getTime());
  const r2Key = rawObjectKey(source, stream, loadId, started);

  const bytes = await writeRawObject(env.RAW, r2Key, lines, {
    loadId,
    source,
    stream,
    records: String(lines.length),
  });

  const rows: RawRow[] = [];
  const oversized: { line: RawLine; bytes: number }[] = [];
  for (const line of lines) {
    const payload = JSON.stringify(line.payload) ?? "null";
    const size = escapedSize(payload);
    if (size > maxRecordBytes) oversized.push({ line, bytes: size });
    else rows.push({ key: line.key, receivedAt: line.receivedAt, payload });
  }

  const db = drizzle(env.DB);
  const quarantineRows = oversized.map(({ line, bytes: size }) =>
    db.insert(quarantine).values({
      source,
      stream,
      key: line.key,
      loadId,
      r2Key,
      reason: `record is ${size} bytes as JSON; D1 rows hold at most ${maxRecordBytes}. It is kept whole in the raw zone object.`,
      record: JSON.stringify({ bytes: size, rawObject: r2Key, key: line.key }),
      quarantinedAt: started.toISOString(),
    }),
  );
  const insertSql = insertRawRowsSql(source, stream);
  const inserts = chunkRows(rows).map((chunk) => env.DB.prepare(insertSql).bind(loadId, r2Key, chunk));
  const ledger = ledgerInsert(env.DB, rawTableName(source, stream), {
    loadId,
    source,
    stream,
    records: lines.length,
    quarantined: oversized.length,
    r2Key,
    bytes,
    startedAt: started.toISOString(),
  });
  const statements = [
    env.DB.prepare(createRawTableSql(source, stream)),
    env.DB.prepare(createLoadIndexSql(source, stream)),
    ...inserts,
    ...quarantineRows.map((query) => query.toSQL()).map(({ sql, params }) => env.DB.prepare(sql).bind(...params)),
    ledger,
  ];

  let results: D1Result[];
  try {
    results = await env.DB.batch(statements);
  } catch (cause) {
    throw new SluiceError("storage_unavailable", `could not load ${source}/${stream} into D1`, {
      cause,
      details: { loadId, r2Key },
    });
  }
  const inserted = results.slice(2, 2 + inserts.length).reduce((sum, r) => sum + (r.meta.changes ?? 0), 0);
  const quarantined = oversized.length;
  return { loadId, source, stream, records: lines.length, inserted, duplicates: lines.length - inserted - quarantined, quarantined, r2Key };
}

/** Size of `text` once escaped into a JSON string, in UTF-8 bytes (exact only when it matters). */
function escapedSize(text: string): number {
  if (text.length * 3 < maxRecordBytes) return text.length;
  return new TextEncoder().encode(JSON.stringify(text)).byteLength;
}
