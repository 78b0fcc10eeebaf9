/**
 * What a load tells the ledger and the key binding about its records, before its batch: which
 * keys come from outside the signature and are bound to their body's hash (db/bound-keys.ts), and
 * the distinct records whose duplicates the ledger counts against the table as it was.
 */
import type { StreamConfig } from "../config/schema.ts";
import { chunkRows } from "../db/raw-tables.ts";
import type { Runtime } from "../env.ts";
import { openIncident } from "../ops/incidents.ts";
import type { LoadKeys } from "./ledger.ts";
import type { RawLine } from "./raw-zone.ts";

/** A record the load writes: as a row, or as a quarantine row. */
export interface PlannedRecord {
  key: string;
  /** 1-based line in the raw object. */
  line: number;
  quarantined: boolean;
}

/**
 * The body hash a record's key is bound to: only for a key from outside the signature, and not
 * under merge (a merge upsert is keyed by the stream's primary key, and a new body is an update).
 */
export function boundHash(config: StreamConfig, line: RawLine): string | undefined {
  return line.keySigned === false && line.bodyHash !== undefined && config.disposition !== "merge" ? line.bodyHash : undefined;
}

/**
 * The ledger's view of the load's records (see LoadKeys), and the distinct `[key, bodyHash]`
 * pairs to bind, in the order of their lines, so the first body in the load wins its key.
 */
export function loadKeys(
  config: StreamConfig,
  records: readonly PlannedRecord[],
  hashOf: (line: number) => string | undefined,
): { keys: LoadKeys; bound: [string, string][] } {
  const merge = config.disposition === "merge";
  const listed = records
    .filter((record) => record.quarantined || !merge)
    .map((record) => JSON.stringify([record.key, hashOf(record.line) ?? null, record.quarantined ? 1 : 0]));
  const distinct = [...new Set(listed)];

  const pairs = new Map<string, [string, string]>();
  for (const record of [...records].sort((a, b) => a.line - b.line)) {
    const hash = hashOf(record.line);
    if (hash !== undefined && !pairs.has(`${record.key}\0${hash}`)) pairs.set(`${record.key}\0${hash}`, [record.key, hash]);
  }
  const keys: LoadKeys = {
    distinct: distinct.length > 0 ? chunkRows(distinct) : [],
    repeats: listed.length - distinct.length,
    mergeRows: merge ? records.filter((record) => !record.quarantined).length : 0,
    boundKeys: pairs.size > 0,
  };
  return { keys, bound: [...pairs.values()] };
}

/** One incident per stream while it stays open: a key reused with another body is never silent. */
export async function alertKeyConflicts(runtime: Runtime, source: string, stream: string, conflicts: number): Promise<void> {
  const message = `${conflicts} record(s) reused an unsigned key with a different body; each was loaded under <key>#<body hash>`;
  runtime.log.warn("load.key_conflict", { source, stream, conflicts });
  await openIncident(runtime, { kind: "key_conflict", subject: `${source}/${stream}`, message }).catch((error: unknown) =>
    runtime.log.error("alert.failed", {
      kind: "key_conflict",
      source,
      stream,
      error: error instanceof Error ? error.message : String(error),
    }),
  );
}
