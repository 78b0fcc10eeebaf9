/**
 * Loads the records of one stream from one queue batch. In: raw lines (record envelopes). Out:
 * a raw-zone object in R2 (unless replaying one), then, in one D1 batch (one transaction): the
 * columns schema evolution adds, the typed rows, quarantine rows, a schema version if the shape
 * changed, the ledger row and the load's metric counters. A retried batch redoes all of it; loads are idempotent on the
 * record key (or, for merge, the primary key), so a redo never duplicates.
 */
import { declaredFields } from "../config/columns.ts";
import { streamConfig } from "../config/index.ts";
import { type StreamConfig, streamSchema } from "../config/schema.ts";
import { bindKeysSql } from "../db/bound-keys.ts";
import type { Column } from "../db/column-types.ts";
import {
  addColumnSql,
  addLoadSeqSql,
  chunkRows,
  createTableSql,
  indexSql,
  loadSeqColumn,
  retiredIndexSql,
  stagingTable,
  writeRowsSql,
} from "../db/raw-tables.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { newLoadId } from "../lib/ids.ts";
import { rawTableName } from "../lib/sql.ts";
import { addLoadCounters } from "../ops/rollups.ts";
import { fieldColumnsInsert, forgetColumns, knownShape, readShape, rememberShape, schemaHash, type TableShape } from "./column-cache.ts";
import { columnNamer } from "./column-names.ts";
import { planEvolution } from "./evolve.ts";
import {
  type LedgerCounts,
  ledgerClose,
  ledgerCountMerged,
  ledgerCountWrite,
  ledgerOpen,
  nextLoadSeq,
  schemaVersionInsert,
} from "./ledger.ts";
import { alertKeyConflicts, boundHash, loadKeys } from "./load-keys.ts";
import { holdRow, type Prepared, prepareRecords, type Quarantined } from "./prepare.ts";
import { quarantineInsert } from "./quarantine.ts";
import { type RawLine, rawObjectKey, rawRef, writeRawObject } from "./raw-zone.ts";
import { encodeRows } from "./row-size.ts";

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
  /** Records loaded under `<key>#<body hash>` because their unsigned key was bound to another body. */
  keyConflicts: number;
  /** The load's place in commit order, which its rows carry as `_sluice_load_seq`. */
  loadSeq: number;
  r2Key: string;
  columnsAdded: string[];
}

const inferredStream = streamSchema.parse({});

/** The stream's config, or inferred append if the config no longer names it (nothing is dropped). */
export function streamConfigOf(runtime: Runtime, source: string, stream: string): StreamConfig {
  return streamConfig(runtime.config, source, stream) ?? inferredStream;
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
  const prepared = await prepareRecords(runtime, config, source, stream, lines);
  let rawWritten = options.rawObject !== undefined;
  let bytes = 0;

  // The table's columns come from this isolate's cache when it has them. If another isolate has
  // changed the table meanwhile, the batch fails on the stale shape; one re-read and re-plan
  // then makes it right, without writing the raw object again.
  for (let attempt = 0; ; attempt++) {
    const cached = attempt === 0 ? knownShape(table) : undefined;
    const shape = cached ?? (await readShape(env.DB, table, rawTableName(source, stream)));
    const existing = shape.columns;
    const load = planLoad(config, shape, prepared);

    if (!rawWritten) {
      bytes = await writeRawObject(env.RAW, r2Key, prepared.stored, {
        loadId,
        source,
        stream,
        records: String(lines.length),
        receivedFrom: load.receivedFrom,
        receivedTo: load.receivedTo,
        schemaHash: load.schemaHash,
      });
      rawWritten = true;
    }

    const hashOf = (line: number) => boundHash(config, lines[line - 1]!);
    const planned = [
      ...load.rows.map((row, i) => ({ key: row[0] as string, line: load.lines[i]!, quarantined: false })),
      ...load.quarantined.map((q) => ({ key: q.key, line: q.line, quarantined: true })),
    ];
    const { keys, bound } = loadKeys(config, planned, hashOf);
    // Rows whose key is bound end with their body hash (see writeRowsSql).
    if (keys.boundKeys) for (const [i, row] of load.rows.entries()) row.push(hashOf(load.lines[i]!) ?? null);
    const writeOptions = {
      disposition: config.disposition,
      primaryKey: config.primaryKey,
      cursor: config.cursor,
      boundKeys: keys.boundKeys,
    };
    const writeSql = writeRowsSql(table, load.columnNames, writeOptions);
    const writeParams = writeOptions.boundKeys ? [source, stream] : [];
    const chunks = encodeRows(load.rows, (i) => rawRef(r2Key, load.lines[i]!));
    // Each write is counted by the ledger statement after it (see ledgerCountWrite); merge counts
    // its rows by key once all its writes are done.
    const writes =
      config.disposition === "merge"
        ? [
            ...chunks.map((chunk) => env.DB.prepare(writeSql).bind(loadId, r2Key, chunk, ...writeParams)),
            ...chunkRows([...new Set(load.rows.map((row) => row[0] as string))].map((key) => JSON.stringify(key))).map((keyChunk) =>
              ledgerCountMerged(env.DB, table, loadId, keyChunk),
            ),
          ]
        : chunks.flatMap((chunk) => [
            env.DB.prepare(writeSql).bind(loadId, r2Key, chunk, ...writeParams),
            ledgerCountWrite(env.DB, loadId),
          ]);
    const canIndex = config.disposition !== "merge" || config.primaryKey!.every((c) => load.columnNames.includes(c));
    // A table this isolate has loaded before needs DDL only for new columns. A table from before
    // the load-order column gets it the first time it is met (its rows keep NULL).
    const fresh = existing.length === 0;
    const needsSeq = !fresh && existing.some((c) => c.name === "_sluice_key") && !existing.some((c) => c.name === loadSeqColumn);
    // A table met for the first time by this isolate also loses the indexes Sluice no longer keeps.
    const ddl = [
      ...(cached ? [] : [env.DB.prepare(createTableSql(table, config.disposition, fresh ? load.added : []))]),
      ...(cached || fresh ? [] : retiredIndexSql(table).map((sql) => env.DB.prepare(sql))),
      ...(needsSeq ? [env.DB.prepare(addLoadSeqSql(table))] : []),
      ...(fresh ? [] : load.added.map((column) => env.DB.prepare(addColumnSql(table, column)))),
      ...(canIndex && (fresh || load.added.length > 0 || !cached)
        ? indexSql(table, config.disposition, config.primaryKey).map((sql) => env.DB.prepare(sql))
        : []),
    ];
    const entry = {
      loadId,
      kind: options.kind,
      source,
      stream,
      records: lines.length,
      filtered: prepared.filtered,
      r2Key,
      bytes,
      startedAt: started.toISOString(),
    };
    // Order matters: the counter, then the key binding, then the ledger (which counts the
    // binding's conflicts and, against the table as it was, the duplicates), then the writes.
    const opening = [
      nextLoadSeq(env.DB),
      ...(keys.boundKeys ? bindKeysSql.map((sql) => env.DB.prepare(sql).bind(source, stream, loadId, JSON.stringify(bound))) : []),
      ...ledgerOpen(env.DB, table, entry, keys),
    ];
    const statements = [
      ...ddl,
      ...opening,
      ...writes,
      ...(load.newFields.length > 0 ? [fieldColumnsInsert(env.DB, rawTableName(source, stream), loadId, load.newFields)] : []),
      ...load.quarantined.map((q) =>
        quarantineInsert(env.DB, { source, stream, loadId, r2Key, at: started, ...q, bodyHash: hashOf(q.line) }),
      ),
      ...(load.added.length > 0
        ? [
            schemaVersionInsert(env.DB, {
              source,
              stream,
              hash: load.schemaHash,
              columns: load.columns,
              change: describeChange(load.added),
              loadId,
            }),
          ]
        : []),
      ledgerClose(env.DB, loadId, keys),
      addLoadCounters(env.DB, loadId, started),
    ];

    let results: D1Result[];
    try {
      results = await env.DB.batch(statements);
    } catch (cause) {
      forgetColumns(table);
      // Once more from a fresh read: another isolate may have changed the table or named a field.
      if (attempt === 0) continue;
      throw new SluiceError("storage_unavailable", `could not load ${source}/${stream} into D1`, { cause, details: { loadId, r2Key } });
    }
    // A table this load created is read afresh next time (its system columns are not in `existing`).
    const seq = needsSeq ? [{ name: loadSeqColumn, type: "integer" as const }] : [];
    if (fresh) forgetColumns(table);
    else rememberShape(table, { columns: [...existing, ...seq, ...load.added], fields: new Map([...shape.fields, ...load.newFields]) });

    // The ledger row as the transaction left it.
    const counts = results[statements.length - 2]!.results[0] as LedgerCounts;
    if (counts.key_conflicts > 0) await alertKeyConflicts(runtime, source, stream, counts.key_conflicts);
    return {
      loadId,
      source,
      stream,
      records: lines.length,
      inserted: counts.inserted,
      duplicates: counts.duplicates,
      quarantined: counts.quarantined,
      filtered: prepared.filtered,
      keyConflicts: counts.key_conflicts,
      loadSeq: counts.load_seq,
      r2Key,
      columnsAdded: load.added.map((column) => column.name),
    };
  }
}

interface LoadPlan {
  added: Column[];
  /** Fields this load gives columns to, for `_sluice_columns`. */
  newFields: [field: string, column: string][];
  /** The table's own columns after the load, in table order. */
  columns: Column[];
  columnNames: string[];
  /** Each row: key, received at, then one value per column. */
  rows: unknown[][];
  /** Each row's line in the raw object. */
  lines: number[];
  quarantined: Quarantined[];
  schemaHash: string;
  receivedFrom: string;
  receivedTo: string;
}

/** Columns for the fields (declared ones first), schema evolution against the table as it is, then the rows to write. */
function planLoad(config: StreamConfig, shape: TableShape, prepared: Prepared): LoadPlan {
  const existing = shape.columns;
  const namer = columnNamer(shape.fields, new Set(existing.map((column) => column.name)));
  const declaredFieldList = declaredFields(config);
  const declaredNames = namer.columnsOf(declaredFieldList.map((field) => field.name));
  const declared = declaredFieldList
    .map((field, i) => ({ name: declaredNames[i]!, type: field.type }))
    .filter((column) => !existing.some((c) => c.name === column.name));
  const evolution = planEvolution(
    [...existing, ...declared],
    prepared.rows.map((r) => namer.row(r.fields)),
    config.contract,
  );
  const added = [...declared, ...evolution.added];
  const columns = [...existing, ...added].filter((column) => !column.name.startsWith("_sluice_") || column.name === "_sluice_overflow");
  const columnNames = columns.map((column) => column.name);
  const newFields = namer.newEntries(new Set(columnNames));

  const rows: unknown[][] = [];
  const lines: number[] = [];
  const quarantined = [...prepared.quarantined];
  let receivedFrom = "";
  let receivedTo = "";
  for (const [i, entry] of prepared.rows.entries()) {
    const planned = evolution.rows[i]!;
    if (!planned.ok) {
      quarantined.push(holdRow(entry, planned.reason));
      continue;
    }
    // A key value that went to a variant column leaves the key NULL, and NULLs never conflict:
    // such a row would be duplicated on every redelivery, so it is quarantined instead.
    const nullKey = config.disposition === "merge" ? config.primaryKey!.find((k) => planned.values.get(k) == null) : undefined;
    if (nullKey) {
      quarantined.push(holdRow(entry, `primary key column ${nullKey} cannot hold this record's value`));
      continue;
    }
    const values = columnNames.map((name) => (planned.values.has(name) ? planned.values.get(name) : null));
    rows.push([entry.key, entry.receivedAt, ...values]);
    lines.push(entry.line);
    if (!receivedFrom || entry.receivedAt < receivedFrom) receivedFrom = entry.receivedAt;
    if (entry.receivedAt > receivedTo) receivedTo = entry.receivedAt;
  }
  return { added, newFields, columns, columnNames, rows, lines, quarantined, schemaHash: schemaHash(columns), receivedFrom, receivedTo };
}

function describeChange(added: readonly Column[]): string {
  return added.map((column) => `added ${column.name} (${column.type})`).join("; ");
}
