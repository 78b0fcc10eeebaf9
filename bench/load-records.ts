/**
 * What both sides of the load benchmark share, so they receive exactly the same messages. In: a
 * stream name and a range of record numbers. Out: record envelopes on the Worker's `INGEST`
 * queue, as the webhook intake queues them (one JSON text message per record, 100 per
 * sendBatch); and the ledger's count of the records loaded into that stream so far, by which the
 * benchmark's clock stops.
 */
import { sendAll } from "../src/messages.ts";

export const benchSource = "bench";

/** Record i of a run: 8 fields of the usual kinds. */
export function benchRecord(i: number) {
  return {
    id: i,
    customer: `cus_${i % 997}`,
    amount: (i * 37) % 10_000,
    currency: i % 2 ? "usd" : "eur",
    status: ["paid", "pending", "refunded"][i % 3],
    paid: i % 3 === 0,
    created_at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    note: `order ${i} for customer ${i % 997}`,
  };
}

/** Records `from` … `from + count - 1` of `stream` as the record envelopes the queue carries. */
export function recordEnvelopes(stream: string, from: number, count: number) {
  const receivedAt = new Date().toISOString();
  return Array.from({ length: count }, (_, k) => ({
    v: 1 as const,
    kind: "record" as const,
    source: benchSource,
    stream,
    key: `k${from + k}`,
    receivedAt,
    deliveryId: `bench-${from}`,
    payload: benchRecord(from + k),
  }));
}

/** Queues records `from` … `from + count - 1` of `stream` as record envelopes. */
export async function enqueueRecords(queue: Queue, stream: string, from: number, count: number): Promise<void> {
  await sendAll(queue, recordEnvelopes(stream, from, count));
}

/** Records of `stream` the ledger says are loaded (rows, duplicates and quarantine alike). */
export async function loadedRecords(db: D1Database, stream: string): Promise<number> {
  const row = await db
    .prepare("SELECT coalesce(sum(records), 0) AS n FROM _sluice_loads WHERE source = ?1 AND stream = ?2")
    .bind(benchSource, stream)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The routes both bench Workers answer: `/ready`, `/enqueue`, `/progress`. Undefined for any other path. */
export async function sharedRoute(url: URL, env: { DB: D1Database; INGEST: Queue }): Promise<Response | undefined> {
  const stream = url.searchParams.get("stream") ?? "events";
  if (url.pathname === "/ready") return new Response("ok");
  if (url.pathname === "/enqueue") {
    await enqueueRecords(env.INGEST, stream, Number(url.searchParams.get("from") ?? 0), Number(url.searchParams.get("count") ?? 100));
    return Response.json({ ok: true });
  }
  if (url.pathname === "/progress") return Response.json({ loaded: await loadedRecords(env.DB, stream) });
  return undefined;
}
