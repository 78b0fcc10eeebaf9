/**
 * Casts to Postgres', Snowflake's and BigQuery's type names, as SQLite expressions with the same
 * answer. SQLite's own CAST picks a column affinity from the type's name, which gives silent wrong
 * answers for most of them (`CAST('2024-03-05' AS date)` is 2024, `CAST('007' AS string)` is 7,
 * `CAST('true' AS boolean)` is 0), so every cast is rewritten, `::` and `cast(… as …)` alike.
 */
import { isPunct, nextSig, nodeText, type SqlNode, wordOf } from "./tokens.ts";

/** A type as written: its name (lower case, words joined by one space) and its arguments. */
export interface TypeName {
  name: string;
  args: number[];
  /** Index just past the type's last node. */
  end: number;
  /** `int[]` and the like. */
  array: boolean;
}

/** The form Sluice stores timestamps in: ISO 8601 UTC with milliseconds, as `Date.toISOString()`. */
export const isoTimestampFormat = "%Y-%m-%dT%H:%M:%fZ";

const multiWord: Record<string, string[][]> = {
  double: [["precision"]],
  character: [["varying"]],
  timestamp: [
    ["with", "time", "zone"],
    ["without", "time", "zone"],
  ],
  time: [
    ["with", "time", "zone"],
    ["without", "time", "zone"],
  ],
};

/** Reads the type that starts at node `i` (a word); undefined when none starts there. */
export function readType(nodes: readonly SqlNode[], i: number | undefined): TypeName | undefined {
  const first = i === undefined ? undefined : wordOf(nodes[i]);
  if (first === undefined || i === undefined) return undefined;
  const words = [first];
  let end = i + 1;
  for (const tail of multiWord[first] ?? []) {
    let at = i;
    const matched = tail.every((word) => {
      const next = nextSig(nodes, at);
      if (next === undefined || wordOf(nodes[next]) !== word) return false;
      at = next;
      return true;
    });
    if (matched) {
      words.push(...tail);
      end = at + 1;
      break;
    }
  }
  let args: number[] = [];
  const paren = nextSig(nodes, end - 1);
  const group = paren === undefined ? undefined : nodes[paren];
  if (group?.kind === "group") {
    args = group.children
      .map(nodeText)
      .join("")
      .split(",")
      .map((arg) => Number(arg.trim()));
    end = paren! + 1;
  }
  let array = false;
  const bracket = nextSig(nodes, end - 1);
  if (bracket !== undefined && isPunct(nodes[bracket], "[")) {
    array = true;
    const close = nextSig(nodes, bracket);
    end = (close !== undefined && isPunct(nodes[close], "]") ? close : bracket) + 1;
  }
  return { name: words.join(" "), args, end, array };
}

const integerTypes = new Set(["int", "integer", "bigint", "smallint", "tinyint", "int2", "int4", "int8", "int64", "byteint"]);
const realTypes = new Set(["float", "float4", "float8", "float64", "double", "double precision", "real"]);
const numericTypes = new Set(["numeric", "decimal", "number", "bignumeric", "bigdecimal"]);
const textTypes = new Set(["text", "string", "varchar", "character varying", "nvarchar"]);
const timestampTypes = new Set([
  "timestamp",
  "timestamptz",
  "timestamp with time zone",
  "timestamp without time zone",
  "timestamp_ntz",
  "timestamp_tz",
  "timestamp_ltz",
  "datetime",
]);

const trueWords = ["true", "t", "yes", "y", "on", "1"];
const falseWords = ["false", "f", "no", "n", "off", "0"];

/**
 * `operand` cast to `type`, as SQLite; undefined when the type has no faithful SQLite form.
 * The operand is SQL text, already translated, and is evaluated once except by ::boolean.
 */
export function castSql(operand: string, type: TypeName): string | undefined {
  if (type.array) return undefined;
  const [first, second] = type.args;
  if (integerTypes.has(type.name)) return `CAST(${operand} AS INTEGER)`;
  if (realTypes.has(type.name)) return `CAST(${operand} AS REAL)`;
  if (numericTypes.has(type.name)) {
    // numeric(p) and numeric(p, 0) hold whole numbers; numeric(p, s) rounds to s places.
    if (type.args.length === 0) return `CAST(${operand} AS REAL)`;
    const scale = second ?? 0;
    if (!Number.isInteger(first) || !Number.isInteger(scale) || scale < 0) return undefined;
    return scale === 0 ? `CAST(round(${operand}) AS INTEGER)` : `round(CAST(${operand} AS REAL), ${scale})`;
  }
  if (textTypes.has(type.name)) {
    if (type.args.length === 0) return `CAST(${operand} AS TEXT)`;
    if (!Number.isInteger(first) || first! < 1) return undefined;
    return `substr(CAST(${operand} AS TEXT), 1, ${first})`;
  }
  if (type.name === "boolean" || type.name === "bool") {
    const when = [...trueWords.map((w) => `WHEN '${w}' THEN 1`), ...falseWords.map((w) => `WHEN '${w}' THEN 0`)].join(" ");
    return `(CASE lower(trim(CAST(${operand} AS TEXT))) ${when} ELSE CAST(${operand} AS REAL) <> 0 END)`;
  }
  if (type.args.length > 0 && type.name !== "timestamp" && type.name !== "timestamptz") return undefined;
  if (type.name === "date") return `date(${operand})`;
  if (timestampTypes.has(type.name)) return `strftime('${isoTimestampFormat}', ${operand})`;
  if (type.name === "time") return `time(${operand})`;
  if (type.name === "json" || type.name === "jsonb") return `json(${operand})`;
  return undefined;
}

/** The type as the user wrote it, for messages: `interval`, `varchar(10)`, `int[]`. */
export function typeLabel(type: TypeName): string {
  return `${type.name}${type.args.length > 0 ? `(${type.args.join(", ")})` : ""}${type.array ? "[]" : ""}`;
}
