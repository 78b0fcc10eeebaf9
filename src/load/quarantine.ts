/**
 * Quarantine: records that could not become typed rows, kept in `_sluice_quarantine` with the
 * reason, the record (as the raw zone holds it) and where it sits in the raw zone, so that they
 * can be fixed and redriven. A record too large for a D1 row is kept as a pointer to its line.
 */
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { quarantine } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { type OpenSelection, openRowsWhere } from "./selection.ts";
import { sendMessage, toRecordMessage } from "../messages.ts";
import { type RawLine, rawRef, readRawObject } from "./raw-zone.ts";

const maxRecordChars = 500_000;

export interface QuarantineEntry {
  source: string;
  stream: string;
  loadId: string;
  r2Key: string;
  line: number;
  key: string;
  reason: string;
  record: unknown;
  at: Date;
}

export function quarantineInsert(db: D1Database, entry: QuarantineEntry): D1PreparedStatement {
  let record = JSON.stringify(entry.record) ?? "null";
  if (record.length > maxRecordChars) record = JSON.stringify({ $ref: rawRef(entry.r2Key, entry.line) });
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
      quarantinedAt: entry.at.toISOString(),
    })
    // Already open for this record (a redelivery, or a retried batch): one record, one row.
    .onConflictDoNothing()
    .toSQL();
  return db.prepare(sql).bind(...params);
}

export type RetryFilter = OpenSelection;

/**
 * Re-drives open quarantined records through the consumer, e.g. after the stream's schema or map
 * was fixed: each goes back on `INGEST` as a record (claim-checked if large) and is marked
 * retried. A record that fails again gets a new quarantine row.
 */
export async function retryQuarantined(runtime: Runtime, filter: RetryFilter): Promise<number> {
  const db = drizzle(runtime.env.DB);
  const rows = await db
    .select()
    .from(quarantine)
    .where(openRowsWhere(quarantine, filter))
    .orderBy(quarantine.id)
    .limit(filter.limit);
  let retried = 0;
  for (const row of rows) {
    const line = await originalLine(runtime, row);
    const message = await toRecordMessage(
      runtime.env.RAW,
      { source: row.source, stream: row.stream, key: row.key, deliveryId: `redrive_${row.id}`, receivedAt: line.receivedAt, origin: "redrive", ...(line.transformed ? { transformed: true } : {}), ...(line.redacted ? { redacted: true } : {}) },
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
    retried += 1;
  }
  runtime.log.info("quarantine.retried", { count: retried });
  return retried;
}

/** The record as the raw zone holds it (its line), which also gives its original receipt time. */
async function originalLine(runtime: Runtime, row: typeof quarantine.$inferSelect): Promise<RawLine> {
  if (row.r2Key && row.line) {
    const lines = await readRawObject(runtime.env.RAW, row.r2Key).catch(() => undefined);
    const line = lines?.[row.line - 1];
    if (line && line.key === row.key) return line;
  }
  return { key: row.key, source: row.source, stream: row.stream, receivedAt: row.quarantinedAt, deliveryId: `redrive_${row.id}`, payload: JSON.parse(row.record) };
}
