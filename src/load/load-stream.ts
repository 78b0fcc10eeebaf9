/**
 * Loads the records of one stream from one queue batch. In: raw lines (record envelopes). Out:
 * a raw-zone object in R2 (unless replaying one), then, in one D1 batch (one transaction): the
 * columns schema evolution adds, the typed rows, quarantine rows, a schema version if the shape
 * changed, and the ledger row. A retried batch redoes all of it; loads are idempotent on the
 * record key (or, for merge, the primary key), so a redo never duplicates.
 */
import { declaredColumns } from "../config/columns.ts";
import { type StreamConfig, streamSchema } from "../config/schema.ts";
import type { Column } from "../db/column-types.ts";
import { addColumnSql, chunkRows, createTableSql, indexSql, stagingTable, tableColumns, writeRowsSql } from "../db/raw-tables.ts";
import type { Runtime } from "../env.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";
import { newLoadId } from "../lib/ids.ts";
import { rawTableName } from "../lib/sql.ts";
import { planEvolution } from "./evolve.ts";
import { flattenRecord } from "./flatten.ts";
import { ledgerInsert, schemaVersionInsert } from "./ledger.ts";
import { quarantineInsert } from "./quarantine.ts";
import { type RawLine, rawObjectKey, rawRef, writeRawObject } from "./raw-zone.ts";
import { fitRow } from "./row-size.ts";
import { transformRecord } from "./transform.ts";

export interface LoadOptions {
  kind: "ingest" | "replay" | "redrive";
  /** For a replay: the raw object the lines come from, which is not written again. */
  rawObject?: string;
}

export interface LoadResult {
  loadId: string;
  source: string;
  stream: string;
  records: number;
  inserted: number;
  duplicates: number;
  quarantined: number;
  filtered: number;
  r2Key: string;
  columnsAdded: string[];
}

const inferredStream = streamSchema.parse({});

/** The stream's config, or inferred append if the config no longer names it (nothing is dropped). */
export function streamConfigOf(runtime: Runtime, source: string, stream: string): StreamConfig {
  return runtime.config.sources[source]?.streams[stream] ?? inferredStream;
}

export async function loadStream(
  runtime: Runtime,
  source: string,
  stream: string,
  lines: readonly RawLine[],
  options: LoadOptions = { kind: "ingest" },
): Promise<LoadResult> {
  const { env } = runtime;
  const config = streamConfigOf(runtime, source, stream);
  const started = new Date();
  const loadId = newLoadId(started.getTime());
  const r2Key = options.rawObject ?? rawObjectKey(source, stream, loadId, started);
  const table = config.disposition === "replace" ? stagingTable(rawTableName(source, stream)) : rawTableName(source, stream);

  // 1. Transforms, per record; a throwing transform quarantines that record alone.
  const salt = runtime.settings.hashSalt;
  if (config.hash.length > 0 && !salt) {
    throw new SluiceError("source_not_configured", `stream ${source}/${stream} hashes fields, so set SLUICE_HASH_SALT`);
  }
  const quarantined: { line: number; key: string; reason: string; record: unknown }[] = [];
  const kept: { line: number; raw: RawLine; record: unknown }[] = [];
  let filtered = 0;
  const stored: RawLine[] = [];
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const result = raw.transformed ? { outcome: "keep" as const, record: raw.payload } : await transformRecord(raw.payload, config, salt);
    stored.push(config.redactRaw && result.outcome === "keep" && !raw.transformed ? { ...raw, payload: result.record, transformed: true } : raw);
    if (result.outcome === "drop") filtered += 1;
    else if (result.outcome === "error") quarantined.push({ line, key: raw.key, reason: result.reason, record: stored[index]!.payload });
    else kept.push({ line, raw, record: result.record });
  }

  // 2. Validation against the stream's schema, then flattening.
  const flat = [];
  for (const entry of kept) {
    let record = entry.record;
    if (config.schema) {
      const parsed = config.schema.safeParse(record);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const reason = `schema: ${issue ? `${issue.path.join(".") || "record"}: ${issue.message}` : "invalid"}`;
        quarantined.push({ line: entry.line, key: entry.raw.key, reason, record: stored[entry.line - 1]!.payload });
        continue;
      }
      record = parsed.data;
    }
    const row = flattenRecord(record, config);
    const missingKey = config.disposition === "merge" ? config.primaryKey!.find((column) => row.get(column) == null) : undefined;
    if (missingKey) {
      quarantined.push({ line: entry.line, key: entry.raw.key, reason: `primary key column ${missingKey} is empty`, record: stored[entry.line - 1]!.payload });
      continue;
    }
    flat.push({ ...entry, row });
  }

  // 3. Schema evolution against the table as it is now (declared columns first).
  const existing = await readColumns(env.DB, table);
  const declared = declaredColumns(config).filter((column) => !existing.some((c) => c.name === column.name));
  const plan = planEvolution([...existing, ...declared], flat.map((f) => f.row), config.contract);
  const added = [...declared, ...plan.added];
  const columns = [...existing, ...added].filter((column) => !column.name.startsWith("_sluice_") || column.name === "_sluice_overflow");
  const columnNames = columns.map((column) => column.name);
  const schemaHash = await sha256Hex(columnNames.map((name, i) => `${name}:${columns[i]!.type}`).join(","));

  const rows: string[] = [];
  let minReceived = "";
  let maxReceived = "";
  for (const [i, entry] of flat.entries()) {
    const planned = plan.rows[i]!;
    if (!planned.ok) {
      quarantined.push({ line: entry.line, key: entry.raw.key, reason: planned.reason, record: stored[entry.line - 1]!.payload });
      continue;
    }
    const values = columnNames.map((name) => (planned.values.has(name) ? planned.values.get(name) : null));
    rows.push(fitRow([entry.raw.key, entry.raw.receivedAt, ...values], rawRef(r2Key, entry.line)));
    if (!minReceived || entry.raw.receivedAt < minReceived) minReceived = entry.raw.receivedAt;
    if (entry.raw.receivedAt > maxReceived) maxReceived = entry.raw.receivedAt;
  }

  // 4. The raw zone, before D1: the source of truth a replay reads.
  const bytes = options.rawObject
    ? 0
    : await writeRawObject(env.RAW, r2Key, stored, {
        loadId,
        source,
        stream,
        records: String(lines.length),
        receivedFrom: minReceived || (lines[0]?.receivedAt ?? ""),
        receivedTo: maxReceived || (lines.at(-1)?.receivedAt ?? ""),
        schemaHash,
      });

  // 5. One batch: DDL, rows, quarantine, schema version, ledger.
  const writeSql = writeRowsSql(table, columnNames, { disposition: config.disposition, primaryKey: config.primaryKey, cursor: config.cursor });
  const writes = chunkRows(rows).map((chunk) => env.DB.prepare(writeSql).bind(loadId, r2Key, chunk));
  const canIndex = config.disposition !== "merge" || config.primaryKey!.every((c) => columnNames.includes(c));
  const ddl = [
    env.DB.prepare(createTableSql(table, config.disposition, existing.length === 0 ? added : [])),
    ...(existing.length === 0 ? [] : added.map((column) => env.DB.prepare(addColumnSql(table, column)))),
    ...(canIndex ? indexSql(table, config.disposition, config.primaryKey).map((sql) => env.DB.prepare(sql)) : []),
  ];
  const statements = [
    ...ddl,
    ...writes,
    ...quarantined.map((q) => quarantineInsert(env.DB, { source, stream, loadId, r2Key, at: started, ...q })),
    ...(added.length > 0
      ? [schemaVersionInsert(env.DB, { source, stream, hash: schemaHash, columns, change: describeChange(added), loadId })]
      : []),
    ledgerInsert(env.DB, table, {
      loadId,
      kind: options.kind,
      source,
      stream,
      records: lines.length,
      quarantined: quarantined.length,
      filtered,
      r2Key,
      bytes,
      startedAt: started.toISOString(),
    }),
  ];

  let results: D1Result[];
  try {
    results = await env.DB.batch(statements);
  } catch (cause) {
    throw new SluiceError("storage_unavailable", `could not load ${source}/${stream} into D1`, { cause, details: { loadId, r2Key } });
  }
  // Rows the writes inserted (or, for merge, inserted or updated): the same number the ledger
  // counted by load id inside the transaction.
  const inserted = results.slice(ddl.length, ddl.length + writes.length).reduce((sum, r) => sum + (r.meta.changes ?? 0), 0);
  return {
    loadId,
    source,
    stream,
    records: lines.length,
    inserted,
    duplicates: lines.length - inserted - quarantined.length - filtered,
    quarantined: quarantined.length,
    filtered,
    r2Key,
    columnsAdded: added.map((column) => column.name),
  };
}

async function readColumns(db: D1Database, table: string): Promise<Column[]> {
  try {
    return await tableColumns(db, table);
  } catch (cause) {
    throw new SluiceError("storage_unavailable", `could not read the columns of ${table}`, { cause });
  }
}

function describeChange(added: readonly Column[]): string {
  return added.map((column) => `added ${column.name} (${column.type})`).join("; ");
}
