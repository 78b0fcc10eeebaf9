/**
 * The Parquet lake: D1's landed tables copied to R2 as Parquet, one folder per table and UTC day.
 * In: every `raw_*` table in D1, and `_sluice_lake_partitions`, which says what each day's files
 * were cut from. Out: `lake/<table>/dt=YYYY-MM-DD/part-<n>.parquet` in the `RAW` bucket, rewritten
 * only for days whose row count or newest load id changed, and the state rows that say so.
 *
 * A day that is gone from D1 keeps its files: the lake is where data goes once D1 must be pruned
 * to stay under its 10 GB, so it outlives D1's retention. Each day commits on its own, so a run
 * cut short by a limit resumes where it stopped.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { systemColumns } from "../db/raw-tables.ts";
import { type LakePartition, lakePartitions } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError, toSluiceError } from "../lib/errors.ts";
import { isIdentifier, quoteIdent } from "../lib/sql.ts";
import { createPartWriter, type LakeColumn, lakeColumn, selectExpression } from "./parquet.ts";

export interface LakeResult {
  tables: { table: string; day: string; parts: number; rows: number }[];
}

/** The part-size limit the lake promises readers. */
export const maxPartRows = 50_000;
/**
 * Parquet bytes after which a part is closed early. A Worker has 128 MB and the writer's buffer
 * doubles as it grows, so wide rows must not be allowed to fill a part to 50,000.
 */
const maxPartBytes = 16 * 1024 * 1024;
/** Rows per D1 read. Pages are keyset ranges of the key's index, never OFFSETs, so no page rescans. */
const pageRows = 1_000;
const receivedDay = `substr("_sluice_received_at", 1, 10)`;
const rowidAlias = "_sluice_lake_rowid";

interface DayStats {
  day: string;
  rows: number;
  last_load_id: string;
}

export async function compactLake(runtime: Runtime, options: { now?: Date } = {}): Promise<LakeResult> {
  const { env, log } = runtime;
  const result: LakeResult = { tables: [] };
  const failures: { table: string; day?: string; code: string; retryable: boolean }[] = [];

  const tables = await landedTables(env.DB).catch((error: unknown) => {
    throw toSluiceError(error, "storage_unavailable");
  });
  for (const table of tables) {
    try {
      const columns = await columnsOf(env.DB, table);
      if (!columns) {
        log.debug("lake.skipped", { table, reason: "not a landed table (names or system columns)" });
        continue;
      }
      const state = await drizzle(env.DB).select().from(lakePartitions).where(eq(lakePartitions.tableName, table));
      const written = new Map(state.map((row) => [row.day, row]));
      for (const stats of await dayStats(env.DB, table)) {
        const before = written.get(stats.day);
        if (before && before.rows === stats.rows && before.lastLoadId === stats.last_load_id) continue;
        if (!/^\d{4}-\d{2}-\d{2}$/.test(stats.day)) {
          log.warn("lake.skipped", { table, day: stats.day, reason: "_sluice_received_at is not an ISO date" });
          continue;
        }
        try {
          const partition = await compactDay(runtime, table, stats.day, columns, options.now ?? new Date());
          if (partition) result.tables.push({ table, day: stats.day, parts: partition.parts, rows: partition.rows });
        } catch (error) {
          const failure = toSluiceError(error, "storage_unavailable", { table, day: stats.day });
          log.error("lake.failed", { table, day: stats.day, code: failure.code, error: failure.message, ...failure.details });
          failures.push({ table, day: stats.day, code: failure.code, retryable: failure.retryable });
        }
      }
    } catch (error) {
      const failure = toSluiceError(error, "storage_unavailable", { table });
      log.error("lake.failed", { table, code: failure.code, error: failure.message });
      failures.push({ table, code: failure.code, retryable: failure.retryable });
    }
  }

  // Every partition that could be written was; the failures are raised so the cron run shows red.
  if (failures.length > 0) {
    throw new SluiceError("internal", `lake compaction failed for ${failures.length} partition(s)`, {
      details: { failures },
      retryable: failures.some((f) => f.retryable),
    });
  }
  return result;
}

async function landedTables(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'raw\\_%' ESCAPE '\\'
AND name NOT LIKE '%\\_\\_staging' ESCAPE '\\' ORDER BY name`,
    )
    .all<{ name: string }>();
  return results.map((row) => row.name);
}

/** The table's columns in order, or null if it is not a table the lake can copy. */
async function columnsOf(db: D1Database, table: string): Promise<LakeColumn[] | null> {
  if (!isIdentifier(table)) return null;
  const { results } = await db
    .prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
    .bind(table)
    .all<{ name: string; type: string }>();
  const names = new Set(results.map((column) => column.name));
  if (!systemColumns.every((name) => names.has(name))) return null;
  if (!results.every((column) => isIdentifier(column.name))) return null;
  return results.map((column) => lakeColumn(column.name, column.type));
}

async function dayStats(db: D1Database, table: string): Promise<DayStats[]> {
  const { results } = await db
    .prepare(
      `SELECT ${receivedDay} AS day, count(*) AS rows, max("_sluice_load_id") AS last_load_id
FROM ${quoteIdent(table)} GROUP BY 1 ORDER BY 1`,
    )
    .all<DayStats>();
  return results;
}

export function lakeObjectKey(table: string, day: string, part: number): string {
  return `lake/${table}/dt=${day}/part-${part}.parquet`;
}

/**
 * Rewrites one day's parts, deletes parts left over from a larger rewrite, then records what was
 * written. The state holds the rows and newest load id actually written, not the stats read
 * before, so rows that land mid-rewrite are either in the files or picked up by the next run.
 */
async function compactDay(
  runtime: Runtime,
  table: string,
  day: string,
  columns: readonly LakeColumn[],
  now: Date,
): Promise<Pick<LakePartition, "parts" | "rows"> | null> {
  const { env } = runtime;
  const started = Date.now();
  // Merge tables are unique on the stream's primary key, not on `_sluice_key`, so pages are cut
  // on (key, rowid): both are in the key's index, and no row is skipped or read twice.
  const select = `SELECT ${columns.map(selectExpression).join(", ")}, _rowid_ AS "${rowidAlias}" FROM ${quoteIdent(table)} WHERE ${receivedDay} = ?1`;
  const order = `ORDER BY "_sluice_key", _rowid_ LIMIT ?2`;
  const firstPage = env.DB.prepare(`${select} ${order}`);
  const nextPage = env.DB.prepare(`${select} AND ("_sluice_key", _rowid_) > (?3, ?4) ${order}`);

  let parts = 0;
  let rows = 0;
  let bytes = 0;
  let lastLoadId = "";
  let part = createPartWriter(columns);
  const putPart = async () => {
    const body = part.finish();
    await env.RAW.put(lakeObjectKey(table, day, parts), body, {
      httpMetadata: { contentType: "application/vnd.apache.parquet" },
      customMetadata: { table, day, rows: String(part.rows) },
    });
    parts += 1;
    bytes += body.byteLength;
    part = createPartWriter(columns);
  };

  let cursor: [unknown, unknown] | null = null;
  do {
    const page: D1Result<Record<string, unknown>> = await (cursor === null
      ? firstPage.bind(day, pageRows)
      : nextPage.bind(day, pageRows, ...cursor)
    ).all();
    for (const row of page.results) {
      part.add(row);
      rows += 1;
      const loadId = String(row._sluice_load_id);
      if (loadId > lastLoadId) lastLoadId = loadId;
      if (part.rows >= maxPartRows || part.size >= maxPartBytes) await putPart();
    }
    const last = page.results.at(-1);
    cursor = page.results.length < pageRows || !last ? null : [last._sluice_key, last[rowidAlias]];
  } while (cursor !== null);
  if (part.rows > 0) await putPart();
  // The day emptied between the stats and the read: leave its files and state as they were.
  if (rows === 0) return null;

  const stale = await staleParts(env.RAW, table, day, parts);
  // R2 deletes at most 1,000 keys per call.
  for (let i = 0; i < stale.length; i += 1_000) await env.RAW.delete(stale.slice(i, i + 1_000));

  const state = { parts, rows, lastLoadId, compactedAt: now.toISOString() };
  await drizzle(env.DB)
    .insert(lakePartitions)
    .values({ tableName: table, day, ...state })
    .onConflictDoUpdate({ target: [lakePartitions.tableName, lakePartitions.day], set: state });
  runtime.log.info("lake.compacted", { table, day, parts, rows, lastLoadId, bytes, staleParts: stale.length, ms: Date.now() - started });
  return { parts, rows };
}

/**
 * Parts numbered `parts` or above. Listed from R2 rather than taken from the state, so parts
 * from a run that died before recording its state are found too.
 */
async function staleParts(bucket: R2Bucket, table: string, day: string, parts: number): Promise<string[]> {
  const prefix = `lake/${table}/dt=${day}/`;
  const stale: string[] = [];
  let cursor: string | undefined;
  do {
    const listing = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    for (const { key } of listing.objects) {
      const n = /^part-(\d+)\.parquet$/.exec(key.slice(prefix.length))?.[1];
      if (n !== undefined && Number(n) >= parts) stale.push(key);
    }
    cursor = listing.truncated ? listing.cursor : undefined;
  } while (cursor);
  return stale;
}
