/**
 * Loads the records of one stream from one queue batch. In: record lines with their payloads
 * resolved. Out: a raw-zone object in R2, then new rows in `raw_<source>__<stream>` and a ledger
 * row in `_sluice_loads`, committed together by one D1 batch (a transaction).
 */
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { newLoadId } from "../lib/ids.ts";
import { rawTableName } from "../lib/sql.ts";
import { ledgerInsert } from "./ledger.ts";
import { chunkRows, createLoadIndexSql, createRawTableSql, insertRawRowsSql } from "../db/raw-tables.ts";
import { type RawLine, rawObjectKey, writeRawObject } from "./raw-zone.ts";

export interface LoadResult {
  loadId: string;
  source: string;
  stream: string;
  records: number;
  inserted: number;
  duplicates: number;
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

  const rows = lines.map((line) => ({ key: line.key, receivedAt: line.receivedAt, payload: JSON.stringify(line.payload) }));
  const insertSql = insertRawRowsSql(source, stream);
  const inserts = chunkRows(rows).map((chunk) => env.DB.prepare(insertSql).bind(loadId, r2Key, chunk));
  const statements = [
    env.DB.prepare(createRawTableSql(source, stream)),
    env.DB.prepare(createLoadIndexSql(source, stream)),
    ...inserts,
    ledgerInsert(env.DB, rawTableName(source, stream), {
      loadId,
      source,
      stream,
      records: lines.length,
      r2Key,
      bytes,
      startedAt: started.toISOString(),
    }),
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
  return { loadId, source, stream, records: lines.length, inserted, duplicates: lines.length - inserted, r2Key };
}
