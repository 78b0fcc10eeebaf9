/**
 * Turns a report request into SQL. In: the report's declaration and the request's query string.
 * Out: a SELECT whose text is built only from declared identifiers (quoted) and placeholders,
 * and the values to bind, or a 400 naming what is wrong. Request text never enters the SQL.
 */
import { z } from "zod";
import type { ReportDefinition } from "../config/index.ts";
import { SluiceError } from "../lib/errors.ts";
import { quoteIdent } from "../lib/sql.ts";

export type Format = "json" | "csv" | "ndjson";

export interface ReportQuery {
  sql: string;
  params: unknown[];
  limit: number;
  order: { column: string; direction: "asc" | "desc" }[];
  format: Format;
}

const reserved = new Set(["format", "limit", "cursor", "sort"]);

export function planReportQuery(report: ReportDefinition, query: URLSearchParams, accept: string | undefined): ReportQuery {
  for (const name of new Set(query.keys())) {
    if (!reserved.has(name) && !Object.hasOwn(report.params, name) && !Object.hasOwn(report.filters, name)) {
      throw new SluiceError("bad_request", `unknown parameter "${name}"; this report takes ${describe(report)}`);
    }
    if (query.getAll(name).length > 1) throw new SluiceError("bad_request", `parameter "${name}" is given more than once`);
  }

  const where: string[] = [];
  const params: unknown[] = [];
  for (const [name, param] of Object.entries(report.params)) {
    const value = parseValue(name, param.schema, query.get(name));
    if (value === undefined || value === null) continue;
    params.push(value);
    where.push(`${quoteIdent(param.column)} ${param.op} ?${params.length}`);
  }
  for (const [column, schema] of Object.entries(report.filters)) {
    const raw = query.get(column);
    if (raw === null) continue;
    params.push(parseValue(column, schema, raw));
    where.push(`${quoteIdent(column)} = ?${params.length}`);
  }

  const order = sortOrder(report, query.get("sort"));
  const cursor = query.get("cursor");
  if (cursor !== null) {
    // An unordered report gives out no cursor: its rows have no "after".
    if (order.length === 0) throw new SluiceError("bad_request", `parameter "cursor": ${unordered}`);
    const values = decodeCursor(cursor, order.length);
    where.push(keysetCondition(order, values, params));
  }

  const limitText = query.get("limit");
  const limit = limitText === null ? report.limit : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > report.limit) {
    throw new SluiceError("bad_request", `parameter "limit" must be an integer from 1 to ${report.limit}`);
  }
  params.push(limit + 1);
  const sql =
    `SELECT * FROM ${quoteIdent(report.model)}` +
    (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
    (order.length ? ` ORDER BY ${order.map((o) => `${quoteIdent(o.column)} ${o.direction === "desc" ? "DESC" : "ASC"}`).join(", ")}` : "") +
    ` LIMIT ?${params.length}`;
  return { sql, params, limit, order, format: formatOf(query.get("format"), accept) };
}

const unordered =
  "this report has no sort order to page by (it declares no key or defaultOrder, and no sort was asked for), so it serves one page and takes no cursor";

/** The requested sort first (`col` or `-col`, a declared sort column), then the default order, then the key. */
function sortOrder(report: ReportDefinition, sort: string | null): { column: string; direction: "asc" | "desc" }[] {
  const order: { column: string; direction: "asc" | "desc" }[] = [];
  if (sort !== null) {
    const column = sort.replace(/^[-+]/, "");
    if (!report.sort.includes(column)) {
      throw new SluiceError("bad_request", `cannot sort by "${column}"; sortable columns: ${report.sort.join(", ") || "none"}`);
    }
    order.push({ column, direction: sort.startsWith("-") ? "desc" : "asc" });
  }
  for (const o of [...report.defaultOrder, ...report.key.map((column) => ({ column, direction: "asc" as const }))]) {
    if (!order.some((x) => x.column === o.column)) order.push(o);
  }
  return order;
}

/** Rows after the cursor in a mixed-direction order: (a > x) OR (a = x AND b < y) OR … */
function keysetCondition(order: { column: string; direction: "asc" | "desc" }[], values: unknown[], params: unknown[]): string {
  const terms: string[] = [];
  for (let i = 0; i < order.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      params.push(values[j]);
      parts.push(`${quoteIdent(order[j]!.column)} IS ?${params.length}`);
    }
    params.push(values[i]);
    parts.push(`${quoteIdent(order[i]!.column)} ${order[i]!.direction === "desc" ? "<" : ">"} ?${params.length}`);
    terms.push(`(${parts.join(" AND ")})`);
  }
  return `(${terms.join(" OR ")})`;
}

export function encodeCursor(row: Record<string, unknown>, order: { column: string }[]): string {
  const json = JSON.stringify(order.map((o) => row[o.column] ?? null));
  return btoa(String.fromCharCode(...new TextEncoder().encode(json)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

const cursorSchema = z.array(z.union([z.string(), z.number(), z.null()]));

function decodeCursor(cursor: string, length: number): unknown[] {
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const values = cursorSchema.parse(JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))));
    if (values.length !== length) throw new Error("length");
    return values;
  } catch {
    throw new SluiceError("bad_request", 'parameter "cursor" is not a cursor this report gave out (or the sort changed)');
  }
}

/** A request value as its schema reads it, or a 400 naming the parameter. */
function parseValue(name: string, schema: z.ZodType, raw: string | null): unknown {
  const parsed = schema.safeParse(raw === null ? undefined : coerce(schema, raw));
  if (!parsed.success) throw new SluiceError("bad_request", `parameter "${name}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

/** Query strings are text; numbers and booleans are read as such before the param's schema checks them. */
function coerce(schema: z.ZodType, raw: string): unknown {
  const probe = schema.safeParse(raw);
  if (probe.success) return raw;
  if (raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  if (raw === "true" || raw === "false") return raw === "true";
  return raw;
}

function formatOf(format: string | null, accept: string | undefined): Format {
  if (format !== null) {
    if (format === "json" || format === "csv" || format === "ndjson") return format;
    throw new SluiceError("bad_request", `parameter "format" must be json, csv or ndjson`);
  }
  if (accept?.includes("text/csv")) return "csv";
  if (accept?.includes("application/x-ndjson")) return "ndjson";
  return "json";
}

function describe(report: ReportDefinition): string {
  const names = [...Object.keys(report.params), ...Object.keys(report.filters), ...reserved];
  return names.join(", ");
}
