/**
 * Quarantine: records that could not become typed rows, kept in `_sluice_quarantine` with the
 * reason, the record (as the raw zone holds it, with the stream's redact and hash applied, and
 * marked so) and where it sits in the raw zone, so that they can be fixed and redriven. A record
 * too large for a D1 row is kept as a pointer to its line.
 */
import { and, eq, getTableName } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ownedSql, resolvedKeySql } from "../db/bound-keys.ts";
import { quarantine } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { quoteIdent } from "../lib/sql.ts";
import { sendMessage, toRecordMessage } from "../messages.ts";
import { type OpenRowFilter, openRowsWhere } from "./open-rows.ts";
import { type RawLine, rawRef, readRawObject } from "./raw-zone.ts";
import type { RecordForm } from "./transform.ts";

const maxRecordChars = 500_000;

export interface QuarantineEntry {
  source: string;
  stream: string;
  loadId: string;
  r2Key: string;
  line: number;
  key: string;
  receivedAt: string;
  reason: string;
  /** Never with a field the stream redacts or hashes in clear: see `Held` in prepare.ts. */
  record: unknown;
  form?: RecordForm | undefined;
  at: Date;
  /** The body hash of a key from outside the signature: the row takes the key it resolves to. */
  bodyHash?: string | undefined;
}

// A bound key resolves inside the batch (db/bound-keys.ts); a body first routed to another stream
// is a re-delivery there and opens nothing here.
const boundInsertSql = `INSERT INTO ${quoteIdent(getTableName(quarantine))} (source, stream, key, load_id, r2_key, line, reason, record, quarantined_at, received_at, record_form)
SELECT ?1, ?2, rk, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12 FROM (SELECT ${resolvedKeySql("?3", "?10", "?1")} AS rk)
WHERE ${ownedSql("rk", "?10", "?1", "?2")}
ON CONFLICT DO NOTHING`;

export function quarantineInsert(db: D1Database, entry: QuarantineEntry): D1PreparedStatement {
  let record = JSON.stringify(entry.record) ?? "null";
  if (record.length > maxRecordChars) record = JSON.stringify({ $ref: rawRef(entry.r2Key, entry.line) });
  if (entry.bodyHash !== undefined) {
    const { source, stream, key, loadId, r2Key, line, reason, at, bodyHash, receivedAt, form } = entry;
    return db
      .prepare(boundInsertSql)
      .bind(source, stream, key, loadId, r2Key, line, reason, record, at.toISOString(), bodyHash, receivedAt, form ?? null);
  }
  const { sql, params } = drizzle(db)
    .insert(quarantine)
    .values({
      source: entry.source,
      stream: entry.stream,
      key: entry.key,
      loadId: entry.loadId,
      r2Key: entry.r2Key,
      line: entry.line,
      reason: entry.reason,
      record,
      recordForm: entry.form ?? null,
      receivedAt: entry.receivedAt,
      quarantinedAt: entry.at.toISOString(),
    })
    // Already open for this record (a redelivery, or a retried batch): one record, one row.
    .onConflictDoNothing()
    .toSQL();
  return db.prepare(sql).bind(...params);
}

/** A record redriven from its quarantine copy because its raw-zone line could not be read. */
export interface RetryFallback {
  id: number;
  key: string;
  reason: string;
  /** True for rows kept before quarantine stored the receipt time: the record takes its quarantine time instead. */
  received_at_changed: boolean;
}

export interface RetryResult {
  retried: number;
  fallbacks: RetryFallback[];
  /** Rows left open: neither their raw-zone line nor a whole copy of the record is left to redrive. */
  skipped: { id: number; key: string; reason: string }[];
}

/**
 * Re-drives open quarantined records through the consumer, e.g. after the stream's schema or map
 * was fixed: each goes back on `INGEST` as a record (claim-checked if large) and is marked
 * retried. A record that fails again gets a new quarantine row. The record comes from its line in
 * the raw zone; only if that is gone is the quarantine copy redriven, with its mark (so a hash is
 * not hashed again), which is logged and listed in the result.
 */
export async function retryQuarantined(runtime: Runtime, filter: OpenRowFilter): Promise<RetryResult> {
  const db = drizzle(runtime.env.DB);
  const rows = await db.select().from(quarantine).where(openRowsWhere(quarantine, filter)).orderBy(quarantine.id).limit(filter.limit);
  const result: RetryResult = { retried: 0, fallbacks: [], skipped: [] };
  for (const row of rows) {
    const source = await sourceOf(runtime, row);
    if ("skip" in source) {
      runtime.log.error("quarantine.retry_skipped", {
        id: row.id,
        source: row.source,
        stream: row.stream,
        key: row.key,
        reason: source.skip,
      });
      result.skipped.push({ id: row.id, key: row.key, reason: source.skip });
      continue;
    }
    const { line, fallback } = source;
    const message = await toRecordMessage(
      runtime.env.RAW,
      {
        source: row.source,
        stream: row.stream,
        key: row.key,
        deliveryId: `redrive_${row.id}`,
        receivedAt: line.receivedAt,
        origin: "redrive",
        ...(line.transformed ? { transformed: true } : {}),
        ...(line.redacted ? { redacted: true } : {}),
      },
      line.payload,
    );
    // Close the row before the record goes back on the queue: should it fail again, its new
    // quarantine row must not collide with this one (one open row per record). Another retry
    // that got here first has claimed it.
    const claimed = await db
      .update(quarantine)
      .set({ status: "retried", retriedAt: new Date().toISOString() })
      .where(and(eq(quarantine.id, row.id), eq(quarantine.status, "open")))
      .returning({ id: quarantine.id });
    if (claimed.length === 0) continue;
    try {
      await sendMessage(runtime.env.INGEST, message);
    } catch (error) {
      // Not sent: open the row again, so the record stays visible and can be retried.
      await db.update(quarantine).set({ status: "open", retriedAt: null }).where(eq(quarantine.id, row.id));
      throw error;
    }
    result.retried += 1;
    if (fallback) {
      const receivedAtChanged = row.receivedAt === null;
      runtime.log.warn("quarantine.retry_fallback", {
        id: row.id,
        source: row.source,
        stream: row.stream,
        key: row.key,
        reason: fallback,
        receivedAt: line.receivedAt,
        receivedAtChanged,
      });
      result.fallbacks.push({ id: row.id, key: row.key, reason: fallback, received_at_changed: receivedAtChanged });
    }
  }
  runtime.log.info("quarantine.retried", { count: result.retried, fallbacks: result.fallbacks.length, skipped: result.skipped.length });
  return result;
}

/**
 * The record to redrive: its line in the raw zone (which also gives its original receipt time),
 * or, with the reason, the quarantine copy when the line is gone. A failure to read R2 is thrown,
 * not taken for a missing line.
 */
async function sourceOf(
  runtime: Runtime,
  row: typeof quarantine.$inferSelect,
): Promise<{ line: RawLine; fallback?: string } | { skip: string }> {
  let fallback: string;
  if (row.r2Key && row.line) {
    const lines = await readRawObject(runtime.env.RAW, row.r2Key).catch((error: unknown) => {
      if (error instanceof SluiceError && error.code === "not_found") return undefined;
      throw new SluiceError("storage_unavailable", `could not read raw object ${row.r2Key}`, { cause: error });
    });
    const line = lines?.[row.line - 1];
    // A conflicting body was quarantined under `<key>#<hash>`; its line still has the plain key.
    if (line && (line.key === row.key || row.key.startsWith(`${line.key}#`))) return { line: { ...line, key: row.key } };
    fallback = lines ? `line ${row.line} of ${row.r2Key} holds another record` : `raw object ${row.r2Key} is missing`;
  } else {
    fallback = "the row names no raw-zone line";
  }
  const record = JSON.parse(row.record) as unknown;
  if (typeof record === "object" && record !== null && "$ref" in record && Object.keys(record).length === 1) {
    return { skip: `${fallback}, and quarantine kept only a pointer to it` };
  }
  const line: RawLine = {
    key: row.key,
    source: row.source,
    stream: row.stream,
    receivedAt: row.receivedAt ?? row.quarantinedAt,
    deliveryId: `redrive_${row.id}`,
    payload: record,
    ...(row.recordForm === "transformed" ? { transformed: true } : {}),
    ...(row.recordForm === "redacted" ? { redacted: true } : {}),
  };
  return { line, fallback };
}
