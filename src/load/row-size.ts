/**
 * Keeps a row within D1's limits: a row holds at most 2 MB and a bound parameter about 2.1 MB.
 * Sluice accepts webhooks of up to 10 MiB, so a row that would not fit has its largest values
 * replaced, one by one, by a pointer into the raw-zone object that holds the whole record:
 * `{"$ref":"<r2 key>#<line>"}`. The record is loaded, never dropped.
 */
import { chunkRows, maxChunkChars } from "../db/raw-tables.ts";

export const maxRowChars = 600_000;

/**
 * Rows as JSON arrays of rows for `json_each`, in chunks within D1's limits. A batch that fits in
 * one chunk, the usual case, is encoded in one go; a larger one row by row, each fitted.
 */
export function encodeRows(rows: readonly unknown[][], refOf: (index: number) => string): string[] {
  const whole = JSON.stringify(rows);
  if (whole.length <= maxChunkChars) return [whole];
  return chunkRows(rows.map((row, index) => fitRow(row, refOf(index))));
}

/** The row as a JSON array, with oversized values swapped for pointers until it fits. */
export function fitRow(values: unknown[], ref: string): string {
  let encoded = JSON.stringify(values);
  if (encoded.length <= maxRowChars) return encoded;
  const pointer = JSON.stringify({ $ref: ref });
  const sizes = values.map((value, index) => ({ index, size: index < 2 ? 0 : (JSON.stringify(value) ?? "").length }));
  sizes.sort((a, b) => b.size - a.size);
  const fitted = [...values];
  for (const { index, size } of sizes) {
    if (encoded.length <= maxRowChars || size <= pointer.length) break;
    fitted[index] = pointer;
    encoded = JSON.stringify(fitted);
  }
  return encoded;
}
