/**
 * The load benchmark's floor: a Worker that consumes the same queue batches as Sluice's
 * consumer and does only the storage work the load contract requires. In: a batch of record
 * envelopes (JSON text). Out, per batch: the envelopes parsed; the same raw-zone object (the same
 * envelopes as gzip NDJSON, put in R2 under a load id); then one D1 batch that bumps the
 * load-order counter, inserts the same rows through `json_each` with Sluice's own write
 * statement (same columns, same bound values, the load-order column) into a table built as a copy
 * of Sluice's (same columns, same indexes), and writes the ledger row. No typing, transforms,
 * evolution, quarantine, conflict check or counters: what Sluice adds beyond this floor is the
 * ratio the benchmark reports.
 *
 * `POST /setup?from=&to=` copies table `from` (with its indexes) as empty table `to`. `POST
 * /bare?records=&table=` is the old reference: the same rows made in the Worker and inserted by a
 * bare `INSERT … SELECT FROM json_each` per batch of 100, four batches in flight, with no queue,
 * raw zone, counter or ledger.
 */
import { getTableName } from "drizzle-orm";
import { writeRowsSql } from "../src/db/raw-tables.ts";
import { loads } from "../src/db/schema.ts";
import { newLoadId } from "../src/lib/ids.ts";
import { quoteIdent, rawTableName } from "../src/lib/sql.ts";
import { nextLoadSeq } from "../src/load/ledger.ts";
import { type RawLine, rawObjectKey, writeRawObject } from "../src/load/raw-zone.ts";
import { benchRecord, sharedRoute } from "./load-records.ts";

interface FloorEnv {
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

async function consume(batch: MessageBatch<unknown>, env: FloorEnv): Promise<void> {
  const lines: RawLine[] = batch.messages.map((message) => {
    const { key, source, stream, receivedAt, deliveryId, payload } = JSON.parse(message.body as string) as RawLine;
    return { key, source, stream, receivedAt, deliveryId, payload };
  });
  const { source, stream } = lines[0]!;
  if (lines.some((line) => line.stream !== stream)) throw new Error("the floor loads one stream per batch");
  const started = new Date();
  const loadId = newLoadId(started.getTime());
  const r2Key = rawObjectKey(source, stream, loadId, started);
  const table = rawTableName(source, stream);
  const columns = await ownColumns(env.DB, table);
  const bytes = await writeRawObject(env.RAW, r2Key, lines, {
    loadId,
    source,
    stream,
    records: String(lines.length),
    receivedFrom: lines[0]!.receivedAt,
    receivedTo: lines.at(-1)!.receivedAt,
    schemaHash: "floor",
  });
  const rows = lines.map((line) => {
    const payload = line.payload as Record<string, unknown>;
    return [line.key, line.receivedAt, ...columns.map((column) => payload[column] ?? null)];
  });
  await env.DB.batch([
    nextLoadSeq(env.DB),
    env.DB.prepare(writeRowsSql(table, columns, { disposition: "append" })).bind(loadId, r2Key, JSON.stringify(rows)),
    env.DB.prepare(ledgerSql).bind(loadId, source, stream, lines.length, r2Key, bytes, started.toISOString()),
  ]);
  batch.ackAll();
}

/** Table `to` as an empty copy of `from`: the same column definitions and the same indexes. */
async function copyTable(db: D1Database, from: string, to: string): Promise<void> {
  const { results } = await db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type DESC")
    .bind(from)
    .all<{ type: string; name: string; sql: string }>();
  if (!results.some((r) => r.type === "table")) throw new Error(`no table ${from} to copy`);
  await db.batch(results.map((r) => db.prepare(r.sql.split(from).join(to))));
}

/** The old reference: rows made in the Worker, a bare json_each insert per batch, four in flight. */
async function bare(db: D1Database, records: number, table: string): Promise<number> {
  await db
    .prepare(
      `CREATE TABLE ${quoteIdent(table)} (_sluice_key TEXT PRIMARY KEY, _sluice_load_id TEXT, _sluice_received_at TEXT, _sluice_source_object TEXT,
     id INTEGER, customer TEXT, amount INTEGER, currency TEXT, status TEXT, paid BOOLEAN, created_at TIMESTAMP, note TEXT)`,
    )
    .run();
  const fields = ["id", "customer", "amount", "currency", "status", "paid", "created_at", "note"] as const;
  const sql = `INSERT INTO ${quoteIdent(table)} SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), ?2, ${fields
    .map((_, i) => `json_extract(value, '$[${i + 2}]')`)
    .join(", ")} FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING`;
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    for (let start = next; start < records; start = next) {
      next += 100;
      const receivedAt = new Date().toISOString();
      const rows = Array.from({ length: Math.min(100, records - start) }, (_, k) => {
        const r = benchRecord(start + k);
        return [`k${start + k}`, receivedAt, ...fields.map((f) => (f === "paid" ? (r.paid ? 1 : 0) : r[f]))];
      });
      await db.prepare(sql).bind("ld_bare", "raw/bare", JSON.stringify(rows)).run();
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return Date.now() - started;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const shared = await sharedRoute(url, env);
    if (shared) return shared;
    const param = (name: string) => url.searchParams.get(name) ?? "";
    if (url.pathname === "/setup") {
      await copyTable(env.DB, param("from"), param("to"));
      return Response.json({ ok: true });
    }
    if (url.pathname === "/bare") {
      const ms = await bare(env.DB, Number(param("records")), param("table"));
      const rows = await env.DB.prepare(`SELECT count(*) AS n FROM ${quoteIdent(param("table"))}`).first<number>("n");
      return Response.json({ ms, rows });
    }
    return new Response("not found", { status: 404 });
  },
  queue: consume,
} satisfies ExportedHandler<FloorEnv, unknown>;
