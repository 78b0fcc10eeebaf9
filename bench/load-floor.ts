/**
 * The storage work the load contract requires of any loader, and nothing else: the floor of the
 * load benchmark. In: a queue batch of record envelopes (JSON text). Out: the envelopes parsed;
 * the raw-zone object (the same envelopes as gzip NDJSON, put in R2 under a load id, with the
 * metadata keys Sluice's carries); then one D1 batch that bumps the load-order counter, inserts
 * the rows through `json_each` with Sluice's own write statement (same columns, same bound
 * values, the load-order column) and writes the ledger row. Split in steps so the benchmark can
 * time each (see load-breakdown.ts).
 */
import { getTableName } from "drizzle-orm";
import { writeRowsSql } from "../src/db/raw-tables.ts";
import { loads } from "../src/db/schema.ts";
import { newLoadId } from "../src/lib/ids.ts";
import { quoteIdent, rawTableName } from "../src/lib/sql.ts";
import { nextLoadSeq } from "../src/load/ledger.ts";
import { type RawLine, rawObjectKey, writeRawObject } from "../src/load/raw-zone.ts";

export interface FloorEnv {
  DB: D1Database;
  RAW: R2Bucket;
  INGEST: Queue;
}

const ledgerSql = `INSERT INTO ${quoteIdent(getTableName(loads))} (load_id, kind, source, stream, status, records, inserted, duplicates, quarantined, filtered, key_conflicts, load_seq, r2_key, bytes, started_at, finished_at)
SELECT ?1, 'ingest', ?2, ?3, 'loaded', ?4, changes(), ?4 - changes(), 0, 0, 0, (SELECT value FROM _sluice_sequences WHERE name = 'load'), ?5, ?6, ?7, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/** The table's own columns (after the system ones), read once per isolate, as Sluice caches them. */
const columnsByTable = new Map<string, string[]>();
async function ownColumns(db: D1Database, table: string): Promise<string[]> {
  let columns = columnsByTable.get(table);
  if (!columns) {
    const { results } = await db.prepare("SELECT name FROM pragma_table_info(?1)").bind(table).all<{ name: string }>();
    columns = results.map((r) => r.name).filter((name) => !name.startsWith("_sluice_"));
    columnsByTable.set(table, columns);
  }
  return columns;
}

/** The envelopes as the raw zone stores them. */
export function floorParse(bodies: readonly unknown[]): RawLine[] {
  const lines = bodies.map((body) => {
    const { key, source, stream, receivedAt, deliveryId, payload } = JSON.parse(body as string) as RawLine;
    return { key, source, stream, receivedAt, deliveryId, payload };
  });
  if (lines.some((line) => line.stream !== lines[0]!.stream)) throw new Error("the floor loads one stream per batch");
  return lines;
}

export interface FloorLoad {
  lines: RawLine[];
  started: Date;
  loadId: string;
  r2Key: string;
  bytes: number;
}

export async function floorRaw(env: FloorEnv, lines: RawLine[]): Promise<FloorLoad> {
  const { source, stream } = lines[0]!;
  const started = new Date();
  const loadId = newLoadId(started.getTime());
  const r2Key = rawObjectKey(source, stream, loadId, started);
  const bytes = await writeRawObject(env.RAW, r2Key, lines, {
    loadId,
    source,
    stream,
    records: String(lines.length),
    receivedFrom: lines[0]!.receivedAt,
    receivedTo: lines.at(-1)!.receivedAt,
    schemaHash: "floor",
  });
  return { lines, started, loadId, r2Key, bytes };
}

/** The floor's three statements for a load: the counter, the write and the ledger row. */
export async function floorStatements(env: FloorEnv, load: FloorLoad) {
  const { lines, loadId, r2Key } = load;
  const { source, stream } = lines[0]!;
  const table = rawTableName(source, stream);
  const columns = await ownColumns(env.DB, table);
  const rows = lines.map((line) => {
    const payload = line.payload as Record<string, unknown>;
    return [line.key, line.receivedAt, ...columns.map((column) => payload[column] ?? null)];
  });
  return {
    seq: nextLoadSeq(env.DB),
    write: env.DB.prepare(writeRowsSql(table, columns, { disposition: "append" })).bind(loadId, r2Key, JSON.stringify(rows)),
    ledger: env.DB.prepare(ledgerSql).bind(loadId, source, stream, lines.length, r2Key, load.bytes, load.started.toISOString()),
  };
}

export async function floorD1(env: FloorEnv, load: FloorLoad): Promise<void> {
  const { seq, write, ledger } = await floorStatements(env, load);
  await env.DB.batch([seq, write, ledger]);
}

/** The floor's queue handler: parse, raw zone, one D1 batch, ack. */
export async function floorConsume(batch: MessageBatch<unknown>, env: FloorEnv): Promise<void> {
  await floorD1(env, await floorRaw(env, floorParse(batch.messages.map((message) => message.body))));
  batch.ackAll();
}
