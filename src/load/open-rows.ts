/**
 * Which open rows an operator's redrive or retry acts on: those with the given ids, or of the
 * given source and stream, up to a limit. Dead letters and quarantine rows share the filter.
 */
import { and, eq, inArray, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { z } from "zod";

export const openRowFilterSchema = z.object({
  // At most 90 ids, so a filter stays inside D1's 100 bound parameters.
  ids: z.array(z.number().int().positive()).max(90).optional(),
  source: z.string().optional(),
  stream: z.string().optional(),
  limit: z.number().int().min(1).max(1000).default(100),
});

export type OpenRowFilter = z.output<typeof openRowFilterSchema>;

export function openRowsWhere(
  columns: { id: SQLiteColumn; status: SQLiteColumn; source: SQLiteColumn; stream: SQLiteColumn },
  filter: OpenRowFilter,
): SQL | undefined {
  return and(
    eq(columns.status, "open"),
    filter.ids ? inArray(columns.id, filter.ids) : undefined,
    filter.source ? eq(columns.source, filter.source) : undefined,
    filter.stream ? eq(columns.stream, filter.stream) : undefined,
  );
}
