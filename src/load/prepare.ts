/**
 * The per-record half of a load, which does not depend on the table: the stream's transforms,
 * validation against its schema, and flattening into fields. In: raw lines. Out: the lines the
 * raw zone stores, each record's fields, quarantined records with their reasons, and the filtered count.
 */

import { columnOf } from "../config/columns.ts";
import type { StreamConfig } from "../config/schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { getPath } from "../lib/paths.ts";
import { type FlatField, flattenRecord } from "./flatten.ts";
import type { RawLine } from "./raw-zone.ts";
import { hasTransforms, protectsFields, type RecordForm, redactRecord, transformRecord } from "./transform.ts";

/** What quarantine may keep of a record: never a field its stream redacts or hashes in clear. */
export interface Held {
  /** The record as the raw zone holds it, with the stream's redact and hash applied. */
  record: unknown;
  /** What was applied to `record`, so that a redrive never applies it again; absent when nothing was. */
  form?: RecordForm;
}

export interface Quarantined extends Held {
  /** 1-based line in the raw object. */
  line: number;
  key: string;
  receivedAt: string;
  reason: string;
}

export interface PreparedRow {
  line: number;
  key: string;
  receivedAt: string;
  /** The record's fields, each with its exact key path; the load plan gives them columns. */
  fields: FlatField[];
  /** What quarantine keeps, should the load plan hold the row back. */
  held: Held;
}

export interface Prepared {
  /** The lines for the raw zone: originals, or transformed records if the stream sets `redactRaw`. */
  stored: RawLine[];
  rows: PreparedRow[];
  quarantined: Quarantined[];
  filtered: number;
}

/** A prepared row the load plan cannot store, as a quarantine entry. */
export function holdRow(entry: PreparedRow, reason: string): Quarantined {
  return { ...entry.held, line: entry.line, key: entry.key, receivedAt: entry.receivedAt, reason };
}

export async function prepareRecords(
  runtime: Runtime,
  config: StreamConfig,
  source: string,
  stream: string,
  lines: readonly RawLine[],
): Promise<Prepared> {
  const salt = runtime.settings.hashSalt;
  if (config.hash.length > 0 && !salt) {
    throw new SluiceError("source_not_configured", `stream ${source}/${stream} hashes fields, so set SLUICE_HASH_SALT`);
  }
  const prepared: Prepared = { stored: [], rows: [], quarantined: [], filtered: 0 };
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    if (raw.filtered) {
      prepared.stored.push(raw);
      prepared.filtered += 1;
      continue;
    }
    // A line the raw zone holds redacted gets the filter and map, never a second hash.
    const pending = raw.redacted ? { ...config, hash: [] } : config;
    const result =
      raw.transformed || !hasTransforms(pending)
        ? { outcome: "keep" as const, record: raw.payload }
        : await transformRecord(raw.payload, pending, salt);
    // With redactRaw, no original reaches the raw zone or quarantine: kept records are stored
    // transformed; dropped and failed ones with only their redact and hash paths applied.
    let stored = raw;
    if (config.redactRaw && !raw.transformed && !raw.redacted) {
      if (result.outcome === "keep") stored = { ...raw, payload: result.record, transformed: true };
      else
        stored = {
          ...raw,
          payload: await redactRecord(raw.payload, config, salt),
          ...(result.outcome === "drop" ? { filtered: true } : { redacted: true }),
        };
    }
    prepared.stored.push(stored);
    if (result.outcome === "drop") {
      prepared.filtered += 1;
      continue;
    }
    const base = { line, key: raw.key, receivedAt: raw.receivedAt };
    if (result.outcome === "error") {
      const held = await heldRecord(stored, undefined, config, salt);
      prepared.quarantined.push({ ...base, ...held, reason: scrubbed(result.reason, raw.payload, config) });
      continue;
    }
    const held = await heldRecord(stored, result.record, config, salt);
    let record = result.record;
    if (config.schema) {
      const parsed = config.schema.safeParse(record);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const reason = `schema: ${issue ? `${issue.path.join(".") || "record"}: ${issue.message}` : "invalid"}`;
        prepared.quarantined.push({ ...base, ...held, reason: scrubbed(reason, raw.payload, config) });
        continue;
      }
      record = parsed.data;
    }
    const flat = flattenRecord(record, config);
    if (!flat.ok) {
      prepared.quarantined.push({ ...base, ...held, reason: flat.reason });
      continue;
    }
    const missingKey =
      config.disposition === "merge"
        ? config.primaryKey!.find((column) => flat.fields.find((f) => columnOf(f.name) === column)?.value == null)
        : undefined;
    if (missingKey) {
      prepared.quarantined.push({ ...base, ...held, reason: `primary key column ${missingKey} is empty` });
      continue;
    }
    prepared.rows.push({ ...base, fields: flat.fields, held });
  }
  return prepared;
}

/**
 * A reason without the values of the fields the stream redacts or hashes: the message of a map
 * that throws, or a schema's own message, may quote them.
 */
function scrubbed(reason: string, payload: unknown, config: StreamConfig): string {
  for (const path of [...config.redact, ...config.hash]) {
    const value = getPath(payload, path);
    if (value === undefined || value === null) continue;
    // The value whole, and every string or number inside it (a message may quote one part).
    for (const text of [JSON.stringify(value), ...leaves(value)]) {
      if (text.length >= 4) reason = reason.replaceAll(text, "[redacted]");
    }
  }
  // A reason is for people: a runaway error message must not make the row too large for D1.
  return reason.length > maxReasonChars ? `${reason.slice(0, maxReasonChars)}… (cut)` : reason;
}

const maxReasonChars = 2000;

/** The strings and numbers inside a value, as text. */
function leaves(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (typeof value === "number") return [String(value)];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(leaves);
}

/**
 * What quarantine keeps of a line (see `Held`): the line as the raw zone stores it, with the
 * stream's redact and hash applied unless they already were. `kept` is the record the transforms
 * kept, if they kept it.
 */
async function heldRecord(stored: RawLine, kept: unknown, config: StreamConfig, salt: string): Promise<Held> {
  if (stored.transformed) return { record: stored.payload, form: "transformed" };
  if (stored.redacted) return { record: stored.payload, form: "redacted" };
  if (!protectsFields(config)) return { record: stored.payload };
  // Without a map, the record the transforms kept is exactly the line with redact and hash applied.
  if (kept !== undefined && !config.map) return { record: kept, form: "redacted" };
  return { record: await redactRecord(stored.payload, config, salt), form: "redacted" };
}
