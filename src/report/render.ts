/**
 * A report's answer, rendered. In: the rows a query returned and the format asked for. Out: the
 * body (JSON with `meta`, CSV with formulas escaped, or NDJSON) and its Content-Type and Link
 * headers; the cache adds ETag and Vary.
 */
import type { ReportDefinition } from "../config/index.ts";
import type { LastRun } from "../models/last-run.ts";
import { toCsv } from "./csv.ts";
import type { Format, ReportQuery } from "./query.ts";
import type { ReportRows } from "./report-rows.ts";

const contentTypes: Record<Format, string> = {
  json: "application/json",
  csv: "text/csv; charset=utf-8; header=present",
  ndjson: "application/x-ndjson",
};

export interface RenderInput {
  name: string;
  report: ReportDefinition;
  plan: ReportQuery;
  url: URL;
  result: ReportRows;
  lastRun: LastRun | undefined;
}

export function renderReport({ name, report, plan, url, result, lastRun }: RenderInput): { body: string; headers: Record<string, string> } {
  const { columns, rows, nextCursor } = result;
  const headers: Record<string, string> = { "Content-Type": contentTypes[plan.format] };
  if (nextCursor) headers.Link = `<${withCursor(url, nextCursor)}>; rel="next"`;
  if (plan.format === "csv") {
    return {
      body: toCsv(
        columns.map((col) => col.name),
        rows,
        report.csv,
      ),
      headers,
    };
  }
  if (plan.format === "ndjson") return { body: rows.map((row) => `${JSON.stringify(row)}\n`).join(""), headers };
  const body = JSON.stringify({
    report: name,
    rows,
    meta: {
      columns: columns.map((col) => ({ name: col.name, type: columnType(col.type, col.name, rows) })),
      row_count: rows.length,
      generated_at: new Date().toISOString(),
      last_run: lastRun ? { run_id: lastRun.runId, finished_at: lastRun.finishedAt } : null,
      freshness: result.freshness,
      next_cursor: nextCursor,
    },
  });
  return { body, headers };
}

function withCursor(url: URL, cursor: string): string {
  const next = new URL(url);
  next.searchParams.set("cursor", cursor);
  return `${next.pathname}${next.search}`;
}

type ColumnType = "integer" | "real" | "text" | "blob" | "numeric" | null;

/**
 * A column's type for clients: SQLite's affinity from the declared type, or, where the model's
 * SQL declared none (CREATE TABLE … AS SELECT over expressions), the type of its first value.
 */
function columnType(declared: string, column: string, rows: readonly Record<string, unknown>[]): ColumnType {
  const upper = declared.toUpperCase();
  if (upper.includes("INT")) return "integer";
  if (/CHAR|CLOB|TEXT/.test(upper)) return "text";
  if (upper.includes("BLOB")) return "blob";
  if (/REAL|FLOA|DOUB/.test(upper)) return "real";
  if (upper !== "") return "numeric";
  const value = rows.find((row) => row[column] !== null && row[column] !== undefined)?.[column];
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "real";
  if (typeof value === "string") return "text";
  if (value instanceof ArrayBuffer || Array.isArray(value)) return "blob";
  return null;
}
