/**
 * Counts webhook outcomes without touching D1 on the hot path. Counts collect in the isolate and
 * are written by a background flush (`waitUntil`, after the response has gone), at most one D1
 * batch per second per isolate however many deliveries arrive: a flood of forged requests
 * costs one write a second, not one per request.
 */
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhookCounts } from "../db/schema.ts";
import type { Logger } from "../lib/log.ts";
import { counterInsert } from "../ops/rollups.ts";

export type Outcome = (typeof webhookCounts.$inferInsert)["outcome"];

export interface CountKey {
  source: string;
  stream?: string;
  outcome: Outcome;
  reason?: string;
}

const flushIntervalMs = 1000;
const pending = new Map<string, { hour: string; source: string; stream: string; outcome: Outcome; reason: string; count: number }>();
let flushing: Promise<void> | undefined;
let lastFlush = 0;

export function countDelivery(key: CountKey, at: number): void {
  const hour = new Date(at).toISOString().slice(0, 13);
  const entry = { hour, source: key.source, stream: key.stream ?? "", outcome: key.outcome, reason: key.reason ?? "", count: 1 };
  const id = `${entry.hour}|${entry.source}|${entry.stream}|${entry.outcome}|${entry.reason}`;
  const existing = pending.get(id);
  if (existing) existing.count += 1;
  else pending.set(id, entry);
}

/**
 * Returns the background flush, starting one if none is under way; every request that counted
 * something hands it to `waitUntil`. The flush waits out the rest of the flush interval, writes
 * everything counted so far in one batch, and repeats while more has been counted meanwhile.
 */
export function scheduleFlush(db: D1Database, log: Logger): Promise<void> | undefined {
  if (pending.size === 0) return flushing;
  flushing ??= (async () => {
    // A request's waitUntil lives about 30 s past its response: stop well within that, and let
    // the next request start the next flush, so a cut-off flush never wedges the isolate.
    const stopAt = Date.now() + 20_000;
    while (pending.size > 0 && Date.now() < stopAt) {
      const wait = lastFlush + flushIntervalMs - Date.now();
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
      const entries = [...pending.values()];
      pending.clear();
      lastFlush = Date.now();
      try {
        await writeCounts(db, entries);
      } catch (error) {
        // Keep the counts and try again after the flush interval, so a broken D1 gets one write
        // a second and the counts are not stranded until the next delivery.
        for (const entry of entries) countBack(entry);
        log.warn("webhook.counts_flush_failed", { error, entries: entries.length });
      }
    }
  })().finally(() => {
    flushing = undefined;
  });
  return flushing;
}

function countBack(entry: { hour: string; source: string; stream: string; outcome: Outcome; reason: string; count: number }) {
  const id = `${entry.hour}|${entry.source}|${entry.stream}|${entry.outcome}|${entry.reason}`;
  const existing = pending.get(id);
  if (existing) existing.count += entry.count;
  else pending.set(id, { ...entry });
}

async function writeCounts(db: D1Database, entries: (typeof webhookCounts.$inferInsert)[]): Promise<void> {
  const orm = drizzle(db);
  const [first, ...rest] = entries.map((entry) =>
    orm
      .insert(webhookCounts)
      .values(entry)
      .onConflictDoUpdate({
        target: [webhookCounts.hour, webhookCounts.source, webhookCounts.stream, webhookCounts.outcome, webhookCounts.reason],
        set: { count: sql`${webhookCounts.count} + excluded.count` },
      }),
  );
  // The same counts as per-minute rollups for /metrics, in the same transaction.
  const now = new Date();
  const rollups = entries.map((entry) =>
    counterInsert(
      orm,
      [
        {
          metric: "sluice_webhooks_total",
          labels: { source: entry.source, outcome: entry.outcome, reason: entry.reason ?? "" },
          value: entry.count ?? 1,
        },
      ],
      { at: now },
    ),
  );
  if (first) await orm.batch([first, ...rest, ...rollups]);
}
