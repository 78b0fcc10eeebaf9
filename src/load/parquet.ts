/**
 * D1 columns as Parquet columns, and the writer of one lake part. In: a raw table's columns with
 * their declared types (from `pragma_table_info`), then its rows as D1 returns them. Out: the
 * bytes of one Parquet file, written a row group at a time so that memory stays bounded.
 *
 * Type mapping, chosen so that every value D1 holds comes back exactly:
 *   INTEGER   → INT64. Read from D1 as text and parsed to a BigInt, because D1 hands integers to
 *               JavaScript as doubles and would round ids above 2^53.
 *   REAL      → DOUBLE.
 *   BOOLEAN   → BOOLEAN (D1 stores 0/1).
 *   TIMESTAMP → INT64 TIMESTAMP(MICROS, UTC): the precision DuckDB and Spark use natively, so
 *               microseconds in the ISO text survive; digits past the sixth are dropped.
 *   TEXT, JSON, any other declared type → STRING (UTF8). JSON stays the text D1 holds, byte for byte;
 *               re-encoding it as Parquet JSON would reformat it and round large numbers. The
 *               declared types are kept in the file's key-value metadata under `sluice.columns`.
 */
import { ByteWriter, type ColumnSource, ParquetWriter, type SchemaElement, schemaFromColumnData } from "hyparquet-writer";
import { type ColumnType, typeFromDeclared } from "../db/column-types.ts";
import { SluiceError } from "../lib/errors.ts";
import { quoteIdent } from "../lib/sql.ts";

export type LakeType = "INT64" | "DOUBLE" | "BOOLEAN" | "TIMESTAMP" | "STRING";

const lakeTypes: Record<ColumnType, LakeType> = {
  integer: "INT64",
  real: "DOUBLE",
  bool: "BOOLEAN",
  timestamp: "TIMESTAMP",
  text: "STRING",
  json: "STRING",
};

export interface LakeColumn {
  name: string;
  /** The type declared in D1, as written in the file's metadata. */
  declared: string;
  type: LakeType;
}

export function lakeColumn(name: string, declared: string): LakeColumn {
  return { name, declared: declared.toUpperCase(), type: lakeTypes[typeFromDeclared(declared)] };
}

/** How a column is selected from D1: as text wherever JavaScript numbers would lose digits. */
export function selectExpression(column: LakeColumn): string {
  const ident = quoteIdent(column.name);
  const asText = column.type === "INT64" || column.type === "TIMESTAMP" || column.type === "STRING";
  return `${asText ? `CAST(${ident} AS TEXT)` : ident} AS ${ident}`;
}

const isoTimestamp = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

/** A D1 value as the Parquet writer takes it, or undefined if the declared type cannot hold it. */
export function toParquetValue(column: LakeColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case "STRING":
      return value;
    case "INT64":
      if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
      break;
    case "DOUBLE":
      if (typeof value === "number") return value;
      break;
    case "BOOLEAN":
      if (value === 0 || value === 1) return value === 1;
      break;
    case "TIMESTAMP": {
      const match = typeof value === "string" ? isoTimestamp.exec(value) : null;
      if (!match) break;
      const [, date, time, fraction = "", zone = "Z"] = match;
      const offset = zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone.toUpperCase();
      const millis = Date.parse(`${date}T${time}${offset}`);
      if (Number.isNaN(millis)) break;
      return BigInt(millis) * 1000n + BigInt(fraction.padEnd(6, "0").slice(0, 6));
    }
  }
  return undefined;
}

function schemaOf(columns: readonly LakeColumn[]): SchemaElement[] {
  const timestamp = (name: string): SchemaElement => ({
    name,
    type: "INT64",
    repetition_type: "OPTIONAL",
    converted_type: "TIMESTAMP_MICROS",
    logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" },
  });
  return schemaFromColumnData({
    columnData: columns.map(({ name, type }) => (type === "TIMESTAMP" ? { name, data: [] } : { name, data: [], type })),
    schemaOverrides: Object.fromEntries(columns.filter((c) => c.type === "TIMESTAMP").map((c) => [c.name, timestamp(c.name)])),
  });
}

/** Row groups close at whichever comes first; the char budget bounds memory for wide rows. */
const rowGroupRows = 10_000;
const rowGroupChars = 4_000_000;

export interface PartWriter {
  /** Adds one D1 row (keyed by column name); throws if a value does not fit its column's type. */
  add(row: Record<string, unknown>): void;
  readonly rows: number;
  /** Bytes written so far plus an estimate of the row group still buffered. */
  readonly size: number;
  finish(): Uint8Array;
}

export function createPartWriter(columns: readonly LakeColumn[]): PartWriter {
  const writer = new ByteWriter();
  const parquet = new ParquetWriter({
    writer,
    schema: schemaOf(columns),
    createdBy: "sluice",
    kvMetadata: [{ key: "sluice.columns", value: JSON.stringify(columns.map(({ name, declared }) => ({ name, type: declared }))) }],
  });
  let buffered: unknown[][] = columns.map(() => []);
  let bufferedRows = 0;
  let bufferedChars = 0;
  let rows = 0;

  const flush = () => {
    if (bufferedRows === 0) return;
    const columnData = columns.map(({ name }, i) => ({ name, data: buffered[i] }) as ColumnSource);
    // ByteWriter has no flush hook, so the write completes synchronously.
    void parquet.write({ columnData, rowGroupSize: bufferedRows });
    buffered = columns.map(() => []);
    bufferedRows = 0;
    bufferedChars = 0;
  };

  return {
    add(row) {
      const values = columns.map((column) => {
        const value = toParquetValue(column, row[column.name]);
        if (value !== undefined) return value;
        // The key, not the value, goes in the error: it finds the row without logging its data.
        throw new SluiceError("internal", `column ${column.name} (${column.declared}) holds a value Parquet ${column.type} cannot take`, {
          details: { column: column.name, declared: column.declared, key: row._sluice_key },
        });
      });
      values.forEach((value, i) => {
        buffered[i]!.push(value);
        bufferedChars += typeof value === "string" ? value.length : 8;
      });
      bufferedRows += 1;
      rows += 1;
      if (bufferedRows >= rowGroupRows || bufferedChars >= rowGroupChars) flush();
    },
    get rows() {
      return rows;
    },
    get size() {
      return writer.offset + bufferedChars;
    },
    finish() {
      flush();
      void parquet.finish();
      return writer.getBytes();
    },
  };
}
