/**
 * The logical column types of landed tables and how they are declared in D1. SQLite keeps any
 * declared type name, so the declaration itself records the logical type (BOOLEAN, TIMESTAMP,
 * JSON) and a table's shape can be read back from `pragma_table_info` alone.
 */
export const columnTypes = ["integer", "real", "text", "bool", "timestamp", "json"] as const;
export type ColumnType = (typeof columnTypes)[number];

export interface Column {
  name: string;
  type: ColumnType;
}

export const sqlTypes: Record<ColumnType, string> = {
  integer: "INTEGER",
  real: "REAL",
  text: "TEXT",
  bool: "BOOLEAN",
  timestamp: "TIMESTAMP",
  json: "JSON",
};

export function typeFromDeclared(declared: string): ColumnType {
  switch (declared.toUpperCase()) {
    case "INTEGER":
      return "integer";
    case "REAL":
      return "real";
    case "BOOLEAN":
      return "bool";
    case "TIMESTAMP":
      return "timestamp";
    case "JSON":
      return "json";
    default:
      return "text";
  }
}

const isoTimestamp = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The type a JSON value would get as a new column; null for null, which types nothing. */
export function typeOfValue(value: unknown): ColumnType | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(value) ? "integer" : "real";
    case "bigint":
      return "integer";
    case "string":
      return isoTimestamp.test(value) ? "timestamp" : "text";
    default:
      return "json";
  }
}

/**
 * The value to store for `value` in a column of type `type`, or undefined if it does not fit and
 * belongs in a variant column. Widening that loses nothing is allowed (an integer into a real
 * column, a timestamp into a text column, anything into a JSON column).
 */
export function coerce(value: unknown, type: ColumnType, actual: ColumnType | null = typeOfValue(value)): unknown {
  if (actual === null) return null;
  if (actual === type) return actual === "json" ? JSON.stringify(value) : actual === "bool" ? (value ? 1 : 0) : value;
  switch (type) {
    case "real":
      return actual === "integer" ? value : undefined;
    case "integer":
      return actual === "bool" ? (value ? 1 : 0) : undefined;
    case "text":
      return actual === "timestamp" ? value : undefined;
    case "json":
      return JSON.stringify(value);
    default:
      return undefined;
  }
}
