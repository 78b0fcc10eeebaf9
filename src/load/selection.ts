/**
 * Which open rows an operator's redrive or retry acts on: those with the given ids, or of the
 * given source and stream. Dead letters and quarantine rows share the shape.
 */
import { and, eq, inArray, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

export interface OpenSelection {
  ids?: number[] | undefined;
  source?: string | undefined;
  stream?: string | undefined;
  limit: number;
}

export function openRowsWhere(
  columns: { id: SQLiteColumn; status: SQLiteColumn; source: SQLiteColumn; stream: SQLiteColumn },
  selection: OpenSelection,
): SQL | undefined {
  return and(
    eq(columns.status, "open"),
    selection.ids ? inArray(columns.id, selection.ids) : undefined,
    selection.source ? eq(columns.source, selection.source) : undefined,
    selection.stream ? eq(columns.stream, selection.stream) : undefined,
  );
}
