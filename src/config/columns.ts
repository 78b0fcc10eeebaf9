/**
 * Column names. In: a stream's zod schema or column mappings, and the keys of record fields.
 * Out: the columns a stream declares, known before any record arrives (so a stream's table, and
 * the models over it, exist with their columns from the first load or model run), and the rule
 * that names a field's column from the field alone.
 */
import { z } from "zod";
import type { Column, ColumnType } from "../db/column-types.ts";
import { shortHash } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";
import { memoize } from "../lib/memo.ts";
import { pathParts } from "../lib/paths.ts";
import type { StreamConfig } from "./stream-schema.ts";

interface JsonSchema {
  type?: string | string[];
  format?: string;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

/** A declared field: its name (see `fieldName`) and the type its column takes. */
export interface DeclaredField {
  name: FieldName;
  type: ColumnType;
}

const declaredByStream = new WeakMap<StreamConfig, DeclaredField[]>();

/**
 * The fields a stream's schema declares, flattened as records are (down to `maxDepth`), or, for a
 * stream with column mappings, the mapped columns typed by their paths. A schema that cannot be
 * read as columns is a config error: config validation calls this, so the manifest compile fails, rather
 * than the stream silently declaring no columns.
 */
export function declaredFields(stream: Pick<StreamConfig, "schema" | "maxDepth" | "columns">): DeclaredField[] {
  const known = declaredByStream.get(stream as StreamConfig);
  if (known) return known;
  const fields = readDeclaredFields(stream);
  declaredByStream.set(stream as StreamConfig, fields);
  return fields;
}

/** The declared columns under the naming rule, for creating a table before any record lands. */
export function declaredColumns(stream: Pick<StreamConfig, "schema" | "maxDepth" | "columns">): Column[] {
  return declaredFields(stream).map((field) => ({ name: columnOf(field.name), type: field.type }));
}

function readDeclaredFields(stream: Pick<StreamConfig, "schema" | "maxDepth" | "columns">): DeclaredField[] {
  if (!stream.schema) return [];
  let root: JsonSchema;
  try {
    root = z.toJSONSchema(stream.schema, { unrepresentable: "any", io: "output" }) as JsonSchema;
  } catch (cause) {
    throw new SluiceError("invalid_config", `the stream's schema cannot be read as columns: ${(cause as Error).message}`, { cause });
  }
  // Schemas with an id, and cycles, arrive as references into the document.
  const deref = (schema: JsonSchema | undefined): JsonSchema | undefined => {
    for (let hops = 0; schema?.$ref !== undefined; hops++) {
      const ref = schema.$ref;
      const target = ref === "#" ? root : ref.startsWith("#/$defs/") ? root.$defs?.[ref.slice("#/$defs/".length)] : undefined;
      if (!target || hops > 32)
        throw new SluiceError(
          "invalid_config",
          `the stream's schema cannot be read as columns: it refers to ${ref}, which cannot be resolved`,
        );
      schema = target;
    }
    return schema;
  };
  const typeOf = (schema: JsonSchema): ColumnType | "object" | null => jsonSchemaType(schema, deref);

  if (stream.columns) {
    // Mapped columns take the type the schema gives their path, where it gives one.
    const fields: DeclaredField[] = [];
    for (const [column, path] of Object.entries(stream.columns)) {
      let schema: JsonSchema | undefined = deref(root);
      for (const part of pathParts(path)) schema = deref(schema?.properties?.[part]);
      const type = schema ? typeOf(schema) : null;
      if (type !== null) fields.push({ name: mappedField(column), type: type === "object" ? "json" : type });
    }
    return fields;
  }
  const fields: DeclaredField[] = [];
  const visit = (schema: JsonSchema, parent: FieldName | undefined, depth: number) => {
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      const property = deref(child)!;
      const name = fieldName(parent, key);
      const type = typeOf(property);
      if (type === "object" && depth < stream.maxDepth) visit(objectSchema(property, deref), name, depth + 1);
      else if (type !== null) fields.push({ name, type: type === "object" ? "json" : type });
    }
  };
  visit(objectSchema(deref(root)!, deref), undefined, 0);
  return fields;
}

/** The object branch of a schema (`anyOf: [object, null]` for an optional object). */
function objectSchema(schema: JsonSchema, deref: (s: JsonSchema | undefined) => JsonSchema | undefined): JsonSchema {
  const options = schema.anyOf ?? schema.oneOf;
  if (!options) return schema;
  return options.map((option) => deref(option)!).find((option) => option.properties) ?? schema;
}

function jsonSchemaType(schema: JsonSchema, deref: (s: JsonSchema | undefined) => JsonSchema | undefined): ColumnType | "object" | null {
  const options = schema.anyOf ?? schema.oneOf;
  if (options) {
    const types = options.map((option) => jsonSchemaType(deref(option)!, deref)).filter((t) => t !== null);
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

/**
 * A record field on its way to a column. `field` is its path of keys as a JSON Pointer
 * (`/customer/Name`), exact whatever the keys hold; `name` is the path normalised and joined with
 * `__` (`customer__name`); `plain` says normalising changed nothing along the way.
 */
export interface FieldName {
  field: string;
  name: string;
  plain: boolean;
}

/** The field `key` of `parent` (of the record itself when there is no parent). */
export function fieldName(parent: FieldName | undefined, key: string): FieldName {
  const normal = normalizeName(key);
  const pointer = `/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
  if (!parent) return { field: pointer, name: normal, plain: normal === key };
  return { field: parent.field + pointer, name: `${parent.name}__${normal}`, plain: parent.plain && normal === key };
}

/** A column a stream maps by name (`columns: { amount: "data.object.amount" }`): its own field. */
export function mappedField(column: string): FieldName {
  return { field: `/${column}`, name: column, plain: true };
}

/**
 * A field's column, from the field alone, so it is the same in every record and every isolate: a
 * plain path keeps its own name (`customer__address__city`); any other takes its normalised name
 * plus a hash of the exact path (`_field_3f2a9c01` for a key in another script, `a_0c1d…` for
 * `A`), so `A` and `a`, or two keys in Japanese, never share or swap columns.
 */
export function columnOf(field: FieldName): string {
  return field.plain ? fitColumnName(field.name) : fitColumnName(`${field.name}_${shortHash(field.field)}`);
}

/**
 * The column the rule before field maps gave a field: its normalised name. A table created then
 * may hold the field there; the loader adopts such a column rather than opening a new one.
 */
export function legacyColumnOf(field: FieldName): string {
  return fitColumnName(field.name);
}
