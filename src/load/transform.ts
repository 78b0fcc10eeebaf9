/**
 * A stream's transforms, applied to each record before anything reaches D1: `filter`, `map`,
 * then `redact` and `hash` (salted SHA-256, so joins on the hashed value still work). A
 * transform that throws quarantines that record alone.
 */
import type { StreamConfig, StreamRecord } from "../config/schema.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { updatePath } from "../lib/paths.ts";

/**
 * What was applied to a copy of a record kept outside the typed tables: `redacted` (the stream's
 * redact and hash) or `transformed` (all of its transforms). Mirrors `RawLine.redacted` and
 * `RawLine.transformed`, and travels with a redrive so that nothing is hashed twice.
 */
export type RecordForm = "redacted" | "transformed";

export type TransformResult =
  | { outcome: "keep"; record: unknown }
  | { outcome: "drop"; reason: string }
  | { outcome: "error"; reason: string };

export function hasTransforms(stream: StreamConfig): boolean {
  return Boolean(stream.filter || stream.map || stream.redact.length || stream.hash.length);
}

/** Whether the stream redacts or hashes any field, so a copy of its records kept outside the raw zone needs them applied. */
export function protectsFields(stream: StreamConfig): boolean {
  return stream.redact.length > 0 || stream.hash.length > 0;
}

/** Only the stream's `redact` and `hash`, for a record that keeps its shape (e.g. one a filter dropped). */
export async function redactRecord(record: unknown, stream: StreamConfig, salt: string): Promise<unknown> {
  const current = structuredClone(record);
  await protect(current, stream, salt);
  return current;
}

/**
 * Only the stream's `redact`, with its `hash` fields removed too: for showing a record when no
 * salt is set to hash with. Nothing here is stored, so nothing is lost.
 */
export function maskRecord(record: unknown, stream: StreamConfig): unknown {
  const current = structuredClone(record);
  for (const path of [...stream.redact, ...stream.hash]) updatePath(current, path, () => undefined);
  return current;
}

export async function transformRecord(record: unknown, stream: StreamConfig, salt: string): Promise<TransformResult> {
  // Transforms must not change the record the raw zone keeps.
  let current = structuredClone(record);
  try {
    if (stream.filter && !stream.filter(current as StreamRecord)) return { outcome: "drop", reason: "filter" };
    if (stream.map) {
      const mapped = stream.map(current as StreamRecord);
      if (mapped === null || mapped === undefined) return { outcome: "drop", reason: "map" };
      current = mapped;
    }
  } catch (error) {
    return { outcome: "error", reason: `transform failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  await protect(current, stream, salt);
  return { outcome: "keep", record: current };
}

/** Removes the `redact` paths and replaces the `hash` paths with salted SHA-256, in place. */
async function protect(record: unknown, stream: StreamConfig, salt: string): Promise<void> {
  for (const path of stream.redact) updatePath(record, path, () => undefined);
  for (const path of stream.hash) {
    let text: string | undefined;
    updatePath(record, path, (value) => {
      text = typeof value === "string" ? value : JSON.stringify(value);
      return value;
    });
    if (text !== undefined) {
      const digest = await sha256Hex(`${salt}${text}`);
      updatePath(record, path, () => digest);
    }
  }
}
