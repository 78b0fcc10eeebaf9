/**
 * The report benchmark's floor: a Worker that does nothing but what any cached report endpoint
 * must. In: a report request (`/v1/reports/<name>?…`). Out: the page of rows as JSON, read with
 * exactly Sluice's prepared statements and bound values (the report's planned query and the
 * freshness query in one batch, and the model's last run when the client asks for `no-cache`),
 * behind the Cache API's `match` and `put` unless the client sent `no-cache, no-store`. It has
 * no auth, no routing, no rendering beyond JSON.stringify, no in-memory tier: what Sluice adds
 * beyond it is the ratio the benchmark reports. `X-Cache` says HIT or MISS, as Sluice's does.
 *
 * `POST /setup?rows=N` builds the report's model table on the shared database as a model run
 * leaves it: filled, with the indexes the compiled manifest declares for it (the statements the
 * materialization runs), and a successful run recorded.
 */
import { getConfig } from "../src/config/index.ts";
import { lastRunSql } from "../src/models/last-run.ts";
import { getManifest } from "../src/models/manifest.ts";
import { indexStatements } from "../src/models/materialize.ts";
import { planReportQuery } from "../src/report/query.ts";
import { freshnessSql } from "../src/report/report-rows.ts";

interface FloorEnv {
  DB: D1Database;
}

const model = "daily_revenue";
const uniqueIdOf = (name: string) => getManifest().nodes.find((node) => node.name === name)?.uniqueId ?? name;

/** The model's table: one row per (day, currency, shard), currencies in capitals as the model writes them. */
async function setup(db: D1Database, rows: number): Promise<string[]> {
  const node = getManifest().nodes.find((n) => n.name === model)!;
  await db.batch([
    db.prepare(`DROP TABLE IF EXISTS ${model}`),
    db.prepare(`CREATE TABLE ${model} (day TEXT, currency TEXT, charges INTEGER, revenue REAL)`),
  ]);
  for (let start = 0; start < rows; start += 200_000) {
    await db
      .prepare(
        `WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2)
         INSERT INTO ${model} SELECT date('2000-01-01', '+' || (n / 40) || ' days'),
           CASE n % 4 WHEN 0 THEN 'USD' WHEN 1 THEN 'EUR' WHEN 2 THEN 'GBP' ELSE 'JPY' END, n % 97, (n % 10007) / 10.0 FROM seq`,
      )
      .bind(start, Math.min(rows, start + 200_000) - 1)
      .run();
  }
  const indexes = indexStatements(node);
  const now = new Date().toISOString();
  await db.batch([
    ...indexes.map((sql) => db.prepare(sql)),
    db
      .prepare(
        "INSERT INTO _sluice_model_results (run_id, unique_id, resource_type, status, started_at, finished_at, execution_ms) VALUES ('bench-run', ?1, 'model', 'success', ?2, ?2, 0)",
      )
      .bind(node.uniqueId, now),
  ]);
  return indexes;
}

export default {
  async fetch(request: Request, env: FloorEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ready") return new Response("ok");
    if (url.pathname === "/setup") return Response.json({ indexes: await setup(env.DB, Number(url.searchParams.get("rows"))) });
    const name = url.pathname.replace("/v1/reports/", "");
    const report = getConfig().reports[name];
    if (!report) return new Response("not found", { status: 404 });
    const plan = planReportQuery(report, url.searchParams, request.headers.get("accept") ?? undefined);
    const fresh = /\bno-cache\b/.test(request.headers.get("cache-control") ?? "");
    const cache = (caches as unknown as { default: Cache }).default;
    const key = new Request(`https://floor.cache${url.pathname}${url.search}`);
    if (fresh) await env.DB.prepare(lastRunSql).bind(uniqueIdOf(report.model)).first();
    else {
      const hit = await cache.match(key);
      if (hit) return new Response(hit.body, { headers: { "content-type": "application/json", "x-cache": "HIT" } });
    }
    const [rows, freshness] = await env.DB.batch([env.DB.prepare(plan.sql).bind(...plan.params), env.DB.prepare(freshnessSql)]);
    const body = JSON.stringify({ rows: rows!.results.slice(0, plan.limit), freshness: freshness!.results });
    if (!fresh) {
      const stored = new Response(body, {
        headers: { "content-type": "application/json", "cache-control": `public, max-age=${report.maxAge}` },
      });
      ctx.waitUntil(cache.put(key, stored));
    }
    return new Response(body, { headers: { "content-type": "application/json", "x-cache": "MISS" } });
  },
} satisfies ExportedHandler<FloorEnv>;
