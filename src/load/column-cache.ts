/**
 * Each isolate remembers the columns of the tables it loads, so a batch needs no schema read
 * before its write. The cache is only a guess: a batch planned on a stale shape fails, the
 * loader forgets the table and re-reads it (see loadStream), and nothing is written twice.
 */
import type { Column } from "../db/column-types.ts";
import { memoize } from "../lib/memo.ts";

const columnsByTable = new Map<string, Column[]>();

export function knownColumns(table: string): Column[] | undefined {
  return columnsByTable.get(table);
}

export function rememberColumns(table: string, columns: readonly Column[]): void {
  if (columnsByTable.size > 1000) columnsByTable.clear();
  columnsByTable.set(table, [...columns]);
}

export function forgetColumns(table: string): void {
  columnsByTable.delete(table);
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
