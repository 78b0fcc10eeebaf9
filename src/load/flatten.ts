/**
 * A record as a flat row: nested objects become `parent__child` columns down to the stream's
 * `maxDepth`; deeper objects and all arrays stay whole as JSON. With column mappings, only the
 * mapped paths are taken.
 */
import { fitColumnName, normalizeName } from "../config/columns.ts";
import type { StreamConfig } from "../config/schema.ts";
import { getPath } from "../lib/paths.ts";

export type FlatRow = Map<string, unknown>;

export function flattenRecord(record: unknown, stream: Pick<StreamConfig, "maxDepth" | "columns">): FlatRow {
  const row: FlatRow = new Map();
  if (stream.columns) {
    for (const [column, path] of Object.entries(stream.columns)) row.set(column, getPath(record, path) ?? null);
    return row;
  }
  if (!isPlainObject(record)) {
    // A bare array or scalar body still lands, whole, in one column.
    row.set("value", record);
    return row;
  }
  const visit = (object: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, value] of Object.entries(object)) {
      const name = prefix + normalizeName(key);
      if (isPlainObject(value) && depth < stream.maxDepth && Object.keys(value).length > 0) visit(value, `${name}__`, depth + 1);
      else {
        // Two keys of one record that normalize alike (userId and user_id) keep both values.
        let column = fitColumnName(name);
        for (let n = 2; row.has(column); n++) column = fitColumnName(`${name}_${n}`);
        row.set(column, value ?? null);
      }
    }
  };
  visit(record, "", 0);
  return row;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
