/**
 * A record as a list of fields: nested objects are walked down to the stream's `maxDepth`, and
 * each leaf is a field with its path and value; deeper objects and all arrays stay whole, as
 * JSON. With column mappings, only the mapped paths are taken. Which column each field lands in
 * is decided per table (see column-names.ts), not here, and never by the other keys of a record.
 */
import { type FieldName, fieldName, mappedField } from "../config/columns.ts";
import type { StreamConfig } from "../config/schema.ts";
import { getPath } from "../lib/paths.ts";

export interface FlatField {
  name: FieldName;
  value: unknown;
}

/** A record's fields, or why the record cannot be flattened. */
export type Flattened = { ok: true; fields: FlatField[] } | { ok: false; reason: string };

/** A row named for its table: column to value. */
export type FlatRow = Map<string, unknown>;

const bareValue = fieldName(undefined, "value");

export function flattenRecord(record: unknown, stream: Pick<StreamConfig, "maxDepth" | "maxFields" | "columns">): Flattened {
  if (stream.columns) {
    const fields = Object.entries(stream.columns).map(([column, path]) => ({
      name: mappedField(column),
      value: getPath(record, path) ?? null,
    }));
    return { ok: true, fields };
  }
  // A bare array or scalar body still lands, whole, in one column.
  if (!isPlainObject(record)) return { ok: true, fields: [{ name: bareValue, value: record }] };

  const fields: FlatField[] = [];
  const visit = (object: Record<string, unknown>, parent: FieldName | undefined, depth: number): boolean => {
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      const value = object[key];
      const name = fieldName(parent, key);
      if (isPlainObject(value) && depth < stream.maxDepth && hasKeys(value)) {
        if (!visit(value, name, depth + 1)) return false;
      } else {
        // Counted as they are found, so a record of a million keys costs no more than the cap.
        if (fields.length >= stream.maxFields) return false;
        fields.push({ name, value: value ?? null });
      }
    }
    return true;
  };
  if (!visit(record, undefined, 0)) {
    return { ok: false, reason: `record has more than ${stream.maxFields} fields (the stream's maxFields); nothing of it was loaded` };
  }
  return { ok: true, fields };
}

function hasKeys(object: Record<string, unknown>): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
