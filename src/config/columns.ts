/**
 * The columns a stream declares through its zod schema or column mappings, known before any
 * record arrives, so a stream's table (and the models over it) exist with their columns from the
 * first load or the first model run.
 */
import { z } from "zod";
import type { Column, ColumnType } from "../db/column-types.ts";
import { shortHash } from "../lib/crypto.ts";
import { memoize } from "../lib/memo.ts";
import type { StreamConfig } from "./schema.ts";

interface JsonSchema {
  type?: string | string[];
  format?: string;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

export function declaredColumns(stream: StreamConfig): Column[] {
  if (!stream.schema) return [];
  let json: JsonSchema;
  try {
    json = z.toJSONSchema(stream.schema, { unrepresentable: "any", io: "output" }) as JsonSchema;
  } catch {
    return [];
  }
  const columns: Column[] = [];
  const visit = (schema: JsonSchema, prefix: string, depth: number) => {
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      const name = prefix + normalizeName(key);
      const type = jsonSchemaType(property);
      if (type === "object" && depth < stream.maxDepth) visit(property, `${name}__`, depth + 1);
      else if (type !== null) columns.push({ name, type: type === "object" ? "json" : type });
    }
  };
  visit(json, "", 0);
  if (stream.columns) {
    const mapped = new Set(Object.keys(stream.columns));
    return columns.filter((column) => mapped.has(column.name));
  }
  return columns;
}

function jsonSchemaType(schema: JsonSchema): ColumnType | "object" | null {
  const options = schema.anyOf ?? schema.oneOf;
  if (options) {
    const types = options.map(jsonSchemaType).filter((t) => t !== null);
    return types.length === 1 ? types[0]! : types.length === 0 ? null : "json";
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "integer":
      return "integer";
    case "number":
      return "real";
    case "boolean":
      return "bool";
    case "string":
      return schema.format === "date-time" ? "timestamp" : "text";
    case "object":
      return schema.properties ? "object" : "json";
    case "array":
      return "json";
    default:
      return null;
  }
}

/**
 * A JSON key as a column name: snake_case, ASCII letters, digits and underscores, never starting
 * with a digit, and never in Sluice's own `_sluice_` namespace.
 */
export const normalizeName = memoize(10_000, normalize);

function normalize(key: string): string {
  let name = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_{3,}/g, "__")
    .replace(/^_+(?=.)/, (m) => (m.length > 1 ? "_" : m))
    .slice(0, 63);
  if (name === "" || name === "_") name = "_field";
  if (/^[0-9]/.test(name)) name = `_${name}`;
  if (name.startsWith("_sluice")) name = `x${name}`;
  return name;
}

/**
 * A generated column name (a flattened path, or a variant) that fits SQLite identifiers as
 * Sluice allows them: past 120 characters it is cut and ends with a hash of the whole name, so
 * long paths stay distinct and a record with one never fails its batch.
 */
export function fitColumnName(name: string): string {
  return name.length <= 120 ? name : `${name.slice(0, 111)}_${shortHash(name)}`;
}
