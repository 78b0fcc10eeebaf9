/**
 * The per-record half of a load, which does not depend on the table: the stream's transforms,
 * validation against its schema, and flattening into fields. In: raw lines. Out: the lines the
 * raw zone stores, each record's fields, quarantined records with their reasons, and the filtered count.
 */
import type { StreamConfig } from "../config/schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { columnOf } from "../config/columns.ts";
import { type FlatField, flattenRecord } from "./flatten.ts";
import type { RawLine } from "./raw-zone.ts";
import { hasTransforms, redactRecord, transformRecord } from "./transform.ts";

export interface Quarantined {
  /** 1-based line in the raw object. */
  line: number;
  key: string;
  reason: string;
  /** The record as the raw zone holds it. */
  record: unknown;
}

export interface Prepared {
  /** The lines for the raw zone: originals, or transformed records if the stream sets `redactRaw`. */
  stored: RawLine[];
  rows: { line: number; key: string; receivedAt: string; fields: FlatField[]; stored: unknown }[];
  quarantined: Quarantined[];
  filtered: number;
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
    // A line the raw zone holds redacted only gets the filter and map, not a second hash.
    const pending = raw.redacted ? { ...config, redact: [], hash: [] } : config;
    const result =
      raw.transformed || !hasTransforms(pending) ? { outcome: "keep" as const, record: raw.payload } : await transformRecord(raw.payload, pending, salt);
    // With redactRaw, no original reaches the raw zone or quarantine: kept records are stored
    // transformed; dropped and failed ones with only their redact and hash paths applied.
    let stored = raw;
    if (config.redactRaw && !raw.transformed && !raw.redacted) {
      if (result.outcome === "keep") stored = { ...raw, payload: result.record, transformed: true };
      else stored = { ...raw, payload: await redactRecord(raw.payload, config, salt), ...(result.outcome === "drop" ? { filtered: true } : { redacted: true }) };
    }
    prepared.stored.push(stored);
    if (result.outcome === "drop") {
      prepared.filtered += 1;
      continue;
    }
    if (result.outcome === "error") {
      prepared.quarantined.push({ line, key: raw.key, reason: result.reason, record: stored.payload });
      continue;
    }
    let record = result.record;
    if (config.schema) {
      const parsed = config.schema.safeParse(record);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const reason = `schema: ${issue ? `${issue.path.join(".") || "record"}: ${issue.message}` : "invalid"}`;
        prepared.quarantined.push({ line, key: raw.key, reason, record: stored.payload });
        continue;
      }
      record = parsed.data;
    }
    const flat = flattenRecord(record, config);
    if (!flat.ok) {
      prepared.quarantined.push({ line, key: raw.key, reason: flat.reason, record: stored.payload });
      continue;
    }
    const missingKey =
      config.disposition === "merge" ? config.primaryKey!.find((column) => flat.fields.find((f) => columnOf(f.name) === column)?.value == null) : undefined;
    if (missingKey) {
      prepared.quarantined.push({ line, key: raw.key, reason: `primary key column ${missingKey} is empty`, record: stored.payload });
      continue;
    }
    prepared.rows.push({ line, key: raw.key, receivedAt: raw.receivedAt, fields: flat.fields, stored: stored.payload });
  }
  return prepared;
}
