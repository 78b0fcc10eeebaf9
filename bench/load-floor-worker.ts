/**
 * The load benchmark's floor Worker: consumes the same queue batches as Sluice's consumer and
 * does only the storage work the load contract requires (load-floor.ts), into a table built as a
 * copy of Sluice's (same columns, same indexes). No typing, transforms, evolution, quarantine,
 * conflict check or counters: what Sluice adds beyond this floor is the ratio the benchmark
 * reports.
 *
 * `POST /setup?from=&to=` copies table `from` (with its indexes) as empty table `to`. `POST
 * /bare?records=&table=` is the old reference: the same rows made in the Worker and inserted by a
 * bare `INSERT … SELECT FROM json_each` per batch of 100, four batches in flight, with no queue,
 * raw zone, counter or ledger.
 */
import { quoteIdent } from "../src/lib/sql.ts";
import { type FloorEnv, floorConsume } from "./load-floor.ts";
import { benchRecord, sharedRoute } from "./load-records.ts";

/** Table `to` as an empty copy of `from`: the same column definitions and the same indexes. */
async function copyTable(db: D1Database, from: string, to: string): Promise<void> {
  const { results } = await db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type DESC")
    .bind(from)
    .all<{ type: string; name: string; sql: string }>();
  if (!results.some((r) => r.type === "table")) throw new Error(`no table ${from} to copy`);
  await db.batch(results.map((r) => db.prepare(r.sql.split(from).join(to))));
}

/** The old reference: rows made in the Worker, a bare json_each insert per batch, four in flight. */
async function bare(db: D1Database, records: number, table: string): Promise<number> {
  await db
    .prepare(
      `CREATE TABLE ${quoteIdent(table)} (_sluice_key TEXT PRIMARY KEY, _sluice_load_id TEXT, _sluice_received_at TEXT, _sluice_source_object TEXT,
     id INTEGER, customer TEXT, amount INTEGER, currency TEXT, status TEXT, paid BOOLEAN, created_at TIMESTAMP, note TEXT)`,
    )
    .run();
  const fields = ["id", "customer", "amount", "currency", "status", "paid", "created_at", "note"] as const;
  const sql = `INSERT INTO ${quoteIdent(table)} SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), ?2, ${fields
    .map((_, i) => `json_extract(value, '$[${i + 2}]')`)
    .join(", ")} FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING`;
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    for (let start = next; start < records; start = next) {
      next += 100;
      const receivedAt = new Date().toISOString();
      const rows = Array.from({ length: Math.min(100, records - start) }, (_, k) => {
        const r = benchRecord(start + k);
        return [`k${start + k}`, receivedAt, ...fields.map((f) => (f === "paid" ? (r.paid ? 1 : 0) : r[f]))];
      });
      await db.prepare(sql).bind("ld_bare", "raw/bare", JSON.stringify(rows)).run();
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return Date.now() - started;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const shared = await sharedRoute(url, env);
    if (shared) return shared;
    const param = (name: string) => url.searchParams.get(name) ?? "";
    if (url.pathname === "/setup") {
      await copyTable(env.DB, param("from"), param("to"));
      return Response.json({ ok: true });
    }
    if (url.pathname === "/bare") {
      const ms = await bare(env.DB, Number(param("records")), param("table"));
      const rows = await env.DB.prepare(`SELECT count(*) AS n FROM ${quoteIdent(param("table"))}`).first<number>("n");
      return Response.json({ ms, rows });
    }
    return new Response("not found", { status: 404 });
  },
  queue: floorConsume,
} satisfies ExportedHandler<FloorEnv, unknown>;
