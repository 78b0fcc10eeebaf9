/**
 * The Worker the load benchmark runs in workerd. `POST /consumer` loads generated records through
 * Sluice's consumer code path (`loadStream`: raw zone, typing, schema evolution, one D1 batch with
 * the ledger) in queue-sized batches; `POST /baseline` loads the same rows with a bare
 * `INSERT … SELECT FROM json_each` per batch; `POST /rawzone` only writes each batch's raw-zone
 * object (gzip NDJSON to R2), the one step the load must take before D1; `POST /generate` only
 * makes the batches' records, which every mode does first. All run the same number of batches
 * in flight, and each answers with the time its work took.
 */
import { parseConfig } from "../src/config/parse.ts";
import { createRuntime } from "../src/env.ts";
import { newLoadId } from "../src/lib/ids.ts";
import { loadStream } from "../src/load/load-stream.ts";
import { type RawLine, rawObjectKey, writeRawObject } from "../src/load/raw-zone.ts";

interface Job {
  records: number;
  batch: number;
  /** Batches in flight at once, as concurrent queue consumer invocations would have. */
  inflight: number;
  table: string;
}

/** Runs `work` for every batch start, at most `inflight` at a time. */
async function eachBatch(job: Job, work: (start: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let start = next; start < job.records; start = next) {
      next += job.batch;
      await work(start);
    }
  };
  await Promise.all(Array.from({ length: job.inflight }, worker));
}

const config = parseConfig({
  sources: {
    bench: {
      provider: "generic",
      secrets: ["BENCH_SECRET"],
      signature: { header: "x-sig" },
      streams: { events: {} },
      defaultStream: "events",
    },
  },
});

/** Record i of a run: 8 fields of the usual kinds. */
function record(i: number) {
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

function lines(job: Job, start: number): RawLine[] {
  const end = Math.min(job.records, start + job.batch);
  const receivedAt = new Date().toISOString();
  return Array.from({ length: end - start }, (_, k) => ({
    key: `k${start + k}`,
    source: "bench",
    stream: job.table,
    receivedAt,
    deliveryId: "bench",
    payload: record(start + k),
  }));
}

async function consumer(env: Env, job: Job): Promise<number> {
  const runtime = createRuntime(env, "queue", config);
  const started = Date.now();
  await eachBatch(job, (start) => loadStream(runtime, "bench", job.table, lines(job, start)));
  return Date.now() - started;
}

async function generate(job: Job): Promise<number> {
  const started = Date.now();
  let made = 0;
  // Awaited like the other modes' work, so each batch is its own turn of the event loop.
  await eachBatch(job, async (start) => (made += lines(job, start).length));
  if (made !== job.records) throw new Error(`made ${made} of ${job.records} records`);
  return Date.now() - started;
}

async function rawZone(env: Env, job: Job): Promise<number> {
  const started = Date.now();
  await eachBatch(job, (start) => {
    const at = new Date();
    return writeRawObject(env.RAW, rawObjectKey("bench", job.table, newLoadId(at.getTime()), at), lines(job, start), {
      records: String(job.batch),
    });
  });
  return Date.now() - started;
}

async function baseline(env: Env, job: Job): Promise<number> {
  const table = `raw_bench__${job.table}`;
  await env.DB.prepare(
    `CREATE TABLE "${table}" (_sluice_key TEXT PRIMARY KEY, _sluice_load_id TEXT, _sluice_received_at TEXT, _sluice_source_object TEXT,
     id INTEGER, customer TEXT, amount INTEGER, currency TEXT, status TEXT, paid BOOLEAN, created_at TIMESTAMP, note TEXT)`,
  ).run();
  const columns = ["id", "customer", "amount", "currency", "status", "paid", "created_at", "note"];
  const sql = `INSERT INTO "${table}" SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), ?2, ${columns
    .map((_, i) => `json_extract(value, '$[${i + 2}]')`)
    .join(", ")} FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING`;
  const started = Date.now();
  await eachBatch(job, (start) => {
    const rows = lines(job, start).map((line) => {
      const r = line.payload as ReturnType<typeof record>;
      return [line.key, line.receivedAt, r.id, r.customer, r.amount, r.currency, r.status, r.paid ? 1 : 0, r.created_at, r.note];
    });
    return env.DB.prepare(sql).bind("ld_bench", "raw/bench", JSON.stringify(rows)).run();
  });
  return Date.now() - started;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ready") return new Response("ok");
    const job: Job = {
      records: Number(url.searchParams.get("records") ?? 1000),
      batch: Number(url.searchParams.get("batch") ?? 100),
      inflight: Number(url.searchParams.get("inflight") ?? 1),
      table: url.searchParams.get("table") ?? "events",
    };
    if (url.pathname === "/rawzone") return Response.json({ ms: await rawZone(env, job), rows: job.records });
    if (url.pathname === "/generate") return Response.json({ ms: await generate(job), rows: job.records });
    const ms = url.pathname === "/consumer" ? await consumer(env, job) : await baseline(env, job);
    const count = await env.DB.prepare(`SELECT count(*) AS n FROM "raw_bench__${job.table}"`).first<number>("n");
    return Response.json({ ms, rows: count });
  },
} satisfies ExportedHandler<Env>;
