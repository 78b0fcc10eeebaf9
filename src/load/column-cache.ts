/**
 * Each isolate remembers the shape of the tables it loads (their columns, and which column each
 * field lands in), so a batch needs no schema read before its write. The cache is only a guess: a
 * batch planned on a stale shape fails (a column or a field map entry that already exists), the
 * loader forgets the table and re-reads it (see loadStream), and nothing is written twice.
 */
import { getTableName } from "drizzle-orm";
import type { Column } from "../db/column-types.ts";
import { tableColumns } from "../db/raw-tables.ts";
import { fieldColumns } from "../db/schema.ts";
import { SluiceError } from "../lib/errors.ts";
import { memoize } from "../lib/memo.ts";
import { quoteIdent } from "../lib/sql.ts";

export interface TableShape {
  columns: Column[];
  /** Field (a JSON Pointer) to column, as `_sluice_columns` holds them for the table. */
  fields: Map<string, string>;
}

const shapes = new Map<string, TableShape>();

export function knownShape(table: string): TableShape | undefined {
  return shapes.get(table);
}

export function rememberShape(table: string, shape: TableShape): void {
  if (shapes.size > 1000) shapes.clear();
  shapes.set(table, { columns: [...shape.columns], fields: new Map(shape.fields) });
}

export function forgetColumns(table: string): void {
  shapes.delete(table);
}

const mapTable = quoteIdent(getTableName(fieldColumns));

/** A table's columns (none if it does not exist) and the field map stored under `mapName`. */
export async function readShape(db: D1Database, table: string, mapName: string): Promise<TableShape> {
  try {
    const [columns, map] = await Promise.all([
      tableColumns(db, table),
      db
        .prepare(`SELECT field, column_name FROM ${mapTable} WHERE table_name = ?1`)
        .bind(mapName)
        .all<{ field: string; column_name: string }>(),
    ]);
    return { columns, fields: new Map(map.results.map((row) => [row.field, row.column_name])) };
  } catch (cause) {
    throw new SluiceError("storage_unavailable", `could not read the columns of ${table}`, { cause });
  }
}

/**
 * Stores the columns a load gave new fields, in the load's batch. A plain insert: if another
 * isolate named one of these fields (or took one of these columns) first, the batch fails and
 * is planned again on the stored map.
 */
export function fieldColumnsInsert(
  db: D1Database,
  mapName: string,
  loadId: string,
  entries: readonly [field: string, column: string][],
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO ${mapTable} (table_name, field, column_name, load_id)
SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2 FROM json_each(?3)`,
    )
    .bind(mapName, loadId, JSON.stringify(entries));
}

const hashOfSignature = memoize(1000, fnv1a);

/** A stable hash of a table shape, for the raw zone's metadata and the schema history. */
export function schemaHash(columns: readonly Column[]): string {
  return hashOfSignature(columns.map((column) => `${column.name}:${column.type}`).join(","));
}

/** 64-bit FNV-1a as hex: a fingerprint of a column list, synchronous and cheap. */
function fnv1a(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
