/**
 * Seeds: CSV files (LF or CRLF) parsed with papaparse when the manifest is compiled, each column
 * typed from its values as dbt infers them (integers, then numbers, then booleans, then ISO
 * timestamps, else text), unless `column_types` names the type.
 */
import Papa from "papaparse";
import type { ColumnType } from "../db/column-types.ts";

export interface SeedData {
  columns: { name: string; type: ColumnType }[];
  rows: unknown[][];
}

const integer = /^-?\d+$/;
const number = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const boolean = /^(true|false)$/i;
const timestamp = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseSeed(csv: string, columnTypes: Record<string, string> = {}): SeedData {
  const parsed = Papa.parse<string[]>(csv.replace(/^\uFEFF/, ""), { skipEmptyLines: "greedy" });
  if (parsed.errors.length > 0) throw new Error(`CSV error on row ${parsed.errors[0]!.row}: ${parsed.errors[0]!.message}`);
  const [header, ...body] = parsed.data;
  if (!header || header.length === 0) throw new Error("the CSV has no header row");
  const names = header.map((name) => name.trim());
  const columns = names.map((name, i) => {
    const declared = columnTypes[name]?.toLowerCase();
    const values = body.map((row) => row[i] ?? "").filter((value) => value !== "");
    return { name, type: declared ? declaredType(declared) : inferType(values) };
  });
  const rows = body.map((row) => columns.map((column, i) => convert(row[i] ?? "", column.type)));
  return { columns, rows };
}

function inferType(values: readonly string[]): ColumnType {
  if (values.length === 0) return "text";
  if (values.every((v) => integer.test(v) && Number.isSafeInteger(Number(v)))) return "integer";
  if (values.every((v) => number.test(v))) return "real";
  if (values.every((v) => boolean.test(v))) return "bool";
  if (values.every((v) => timestamp.test(v))) return "timestamp";
  return "text";
}

/** The seed type of a declared SQL type (`column_types`, or a D1 column's declared type). */
export function declaredType(declared: string): ColumnType {
  if (/int/.test(declared)) return "integer";
  if (/real|float|double|numeric|decimal/.test(declared)) return "real";
  if (/bool/.test(declared)) return "bool";
  if (/timestamp|date/.test(declared)) return "timestamp";
  return "text";
}

function convert(value: string, type: ColumnType): unknown {
  if (value === "") return null;
  switch (type) {
    case "integer":
    case "real":
      return Number.isFinite(Number(value)) ? Number(value) : value;
    case "bool":
      return boolean.test(value) ? (value.toLowerCase() === "true" ? 1 : 0) : value;
    default:
      return value;
  }
}
