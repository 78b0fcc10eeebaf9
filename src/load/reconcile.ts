/**
 * Reconciliation: for each source and stream, what was accepted and where each record ended up.
 * Every record that got a 2xx must be a loaded row, a duplicate of one, a quarantine row, a record
 * the stream's filter dropped, or a dead letter; `in_flight` is what is still on the queue.
 *
 * The counts are independent of one another (see load/ledger.ts): duplicates are the records whose
 * key was already held before their load, rows and quarantine rows are counted by load id after
 * it, and the rows now in an append table are counted afresh. So the balance can fail: a record
 * a load dropped, or a row deleted behind Sluice's back, shows as `adds_up: false`.
 */
import { declaredStreams, streamConfig } from "../config/index.ts";
import type { Runtime } from "../env.ts";
import { isIdentifier, quoteIdent, rawTableName } from "../lib/sql.ts";

export interface StreamBalance {
  source: string;
  stream: string;
  /** Deliveries answered 2xx (webhook counts, written within about a second), or records pulled. */
  accepted: number;
  /** Records the consumer has processed from first deliveries. */
  processed: number;
  loaded: number;
  duplicates: number;
  quarantined: number;
  filtered: number;
  /** Records loaded as their own rows because their unsigned key was first used with another body. */
  key_conflicts: number;
  dead_lettered: number;
  in_flight: number;
  /**
   * Records processed beyond the deliveries answered 2xx: a delivery whose enqueue succeeded but
   * whose answer never reached the sender, so the sender retried. Each is also a duplicate.
   */
  redelivered: number;
  /** Rows now in the stream's table. */
  rows: number;
  adds_up: boolean;
}

interface Totals {
  source: string;
  stream: string;
  processed: number;
  loaded: number;
  duplicates: number;
  quarantined: number;
  filtered: number;
  key_conflicts: number;
  loaded_all: number;
}

export async function reconcile(runtime: Runtime): Promise<{ streams: StreamBalance[]; adds_up: boolean }> {
  const db = runtime.env.DB;
  const [ledger, accepted, dead] = await db.batch([
    db.prepare(
      `SELECT source, stream,
         sum(CASE WHEN kind = 'ingest' THEN records ELSE 0 END) AS processed,
         sum(CASE WHEN kind = 'ingest' THEN inserted ELSE 0 END) AS loaded,
         sum(CASE WHEN kind = 'ingest' THEN duplicates ELSE 0 END) AS duplicates,
         sum(CASE WHEN kind = 'ingest' THEN quarantined ELSE 0 END) AS quarantined,
         sum(CASE WHEN kind = 'ingest' THEN filtered ELSE 0 END) AS filtered,
         sum(CASE WHEN kind = 'ingest' THEN key_conflicts ELSE 0 END) AS key_conflicts,
         sum(inserted) AS loaded_all
       FROM _sluice_loads WHERE status = 'loaded' GROUP BY source, stream`,
    ),
    // Accepted: webhook deliveries answered 2xx, and records that pull runs queued.
    db.prepare(
      `SELECT source, stream, sum(n) AS n FROM (
         SELECT source, stream, sum(count) AS n FROM _sluice_webhook_counts WHERE outcome = 'accepted' GROUP BY source, stream
         UNION ALL
         SELECT source, stream, sum(records) AS n FROM _sluice_pull_runs GROUP BY source, stream
       ) GROUP BY source, stream`,
    ),
    db.prepare(
      "SELECT source, stream, count(*) AS n FROM _sluice_dead_letters WHERE kind IN ('record', 'records') AND status = 'open' GROUP BY source, stream",
    ),
  ]);
  const id = (row: { source: unknown; stream: unknown }) => `${row.source}/${row.stream}`;
  const totals = new Map((ledger!.results as unknown as Totals[]).map((row) => [id(row), row]));
  const acceptedBy = new Map((accepted!.results as { source: string; stream: string; n: number }[]).map((row) => [id(row), row.n]));
  const deadBy = new Map((dead!.results as { source: string; stream: string; n: number }[]).map((row) => [id(row), row.n]));

  const keys = new Set<string>([...totals.keys(), ...acceptedBy.keys(), ...deadBy.keys()]);
  for (const { source, stream } of declaredStreams(runtime.config)) keys.add(`${source}/${stream}`);

  const streams: StreamBalance[] = [];
  for (const key of [...keys].sort()) {
    const [source, stream] = key.split("/") as [string, string];
    const t = totals.get(key);
    const rows = await countRows(db, source, stream);
    const balance = {
      source,
      stream,
      accepted: acceptedBy.get(key) ?? 0,
      processed: t?.processed ?? 0,
      loaded: t?.loaded ?? 0,
      duplicates: t?.duplicates ?? 0,
      quarantined: t?.quarantined ?? 0,
      filtered: t?.filtered ?? 0,
      key_conflicts: t?.key_conflicts ?? 0,
      dead_lettered: deadBy.get(key) ?? 0,
      rows,
    };
    const unprocessed = balance.accepted - balance.processed - balance.dead_lettered;
    const inFlight = Math.max(0, unprocessed);
    const redelivered = Math.max(0, -unprocessed);
    const disposition = streamConfig(runtime.config, source, stream)?.disposition ?? "append";
    const accounted = balance.processed === balance.loaded + balance.duplicates + balance.quarantined + balance.filtered;
    // Merge rows are updated in place and replace tables are swapped whole, so only append
    // tables must hold exactly the rows their loads inserted.
    const rowsMatch = disposition !== "append" || rows === (t?.loaded_all ?? 0);
    streams.push({
      ...balance,
      in_flight: inFlight,
      redelivered,
      adds_up: inFlight === 0 && redelivered <= balance.duplicates && accounted && rowsMatch,
    });
  }
  return { streams, adds_up: streams.every((s) => s.adds_up) };
}

async function countRows(db: D1Database, source: string, stream: string): Promise<number> {
  // A dead letter can name a stream that is not a table name at all.
  if (!isIdentifier(`raw_${source}__${stream}`)) return 0;
  const table = rawTableName(source, stream);
  const exists = await db
    .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?1")
    .bind(table)
    .first<number>("n");
  if (!exists) return 0;
  return (await db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(table)}`).first<number>("n")) ?? 0;
}
