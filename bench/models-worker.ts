/**
 * The Worker the models benchmark runs in workerd, over one local D1: `POST /seed` fills a
 * 1,000,000-row `orders` source; `POST /engine` builds the generated project through Sluice's
 * runner; `POST /direct` runs the same compiled SQL statements straight against D1 (the
 * baseline); `POST /grow` adds 1% new rows; `POST /incremental` runs the incremental model.
 *
 * The source is a raw table as Sluice lands it: the same DDL and exactly the indexes a landed
 * append table ships with (by the load-order column, nothing on `updated_at`), and
 * each seeded chunk a load with its own `_sluice_load_seq`. The incremental model takes new rows
 * by that column, as the README's incremental pattern does.
 */
import { parseConfig } from "../src/config/parse.ts";
import type { Column } from "../src/db/column-types.ts";
import { createTableSql, indexSql } from "../src/db/raw-tables.ts";
import { createRuntime } from "../src/env.ts";
import { compileManifest } from "../src/models/compile/index.ts";
import { compileNode } from "../src/models/compile-node.ts";
import { runModels } from "../src/models/runner.ts";

const models: Record<string, string> = {
  "staging/stg_orders.sql":
    "{{ config(materialized='view') }}\nselect id as order_id, customer_id, status, amount / 100.0 as amount, created_at, updated_at, _sluice_load_seq as load_seq from {{ source('bench', 'orders') }}",
  "staging/stg_paid.sql": "{{ config(materialized='view') }}\nselect * from {{ ref('stg_orders') }} where status = 'paid'",
  "marts/orders_enriched.sql":
    "select order_id, customer_id, status, amount, substr(created_at, 1, 10) as day, substr(created_at, 1, 7) as month, amount > 50 as large from {{ ref('stg_orders') }}",
  "marts/daily.sql": "select day, count(*) as orders, sum(amount) as revenue from {{ ref('orders_enriched') }} group by day",
  "marts/monthly.sql": "select month, count(*) as orders, sum(amount) as revenue from {{ ref('orders_enriched') }} group by month",
  "marts/by_status.sql": "select status, count(*) as orders, avg(amount) as average from {{ ref('stg_orders') }} group by status",
  "marts/by_customer.sql":
    "select customer_id, count(*) as orders, sum(amount) as spent, max(created_at) as last_order from {{ ref('stg_paid') }} group by customer_id",
  "marts/top_customers.sql": "select * from {{ ref('by_customer') }} order by spent desc limit 100",
  "marts/large_orders.sql": "select * from {{ ref('orders_enriched') }} where large",
  "marts/orders_latest.sql":
    "{{ config(materialized='incremental', unique_key='order_id', indexes=[{'columns': ['load_seq']}]) }}\nselect order_id, status, amount, updated_at, load_seq from {{ ref('stg_orders') }}\n{% if is_incremental() %}where load_seq > (select coalesce(max(load_seq), 0) from {{ this }}){% endif %}",
};

const manifest = await compileManifest({
  projectYaml: "name: bench\nmodels:\n  bench:\n    +materialized: table\n",
  models: Object.entries(models).map(([path, sql]) => ({ path: `models/${path}`, sql })),
  sources: { bench: ["orders"] },
});
const config = parseConfig({});

const source = "raw_bench__orders";
const sourceColumns: Column[] = [
  { name: "id", type: "integer" },
  { name: "customer_id", type: "integer" },
  { name: "status", type: "text" },
  { name: "amount", type: "integer" },
  { name: "created_at", type: "text" },
  { name: "updated_at", type: "text" },
];

async function seed(db: D1Database, rows: number, offset = 0): Promise<void> {
  // Rows are generated inside SQLite, in chunks well inside D1's 30 s a statement; each chunk is
  // one load, numbered after the last one in the table, as the load counter numbers them.
  for (let start = offset; start < offset + rows; start += 200_000) {
    const end = Math.min(offset + rows, start + 200_000);
    const load = ((await db.prepare(`SELECT max(_sluice_load_seq) AS n FROM ${source}`).first<number | null>("n")) ?? 0) + 1;
    await db
      .prepare(
        `WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2)
         INSERT INTO ${source} (_sluice_key, _sluice_load_id, _sluice_received_at, _sluice_source_object, _sluice_load_seq,
                                id, customer_id, status, amount, created_at, updated_at)
         SELECT 'k' || n, 'load-' || ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + n * 30, 'unixepoch'), 'raw/bench/' || ?3, ?3,
                n, n % 20000, CASE n % 4 WHEN 0 THEN 'refunded' WHEN 1 THEN 'pending' ELSE 'paid' END, (n * 37) % 20000,
                strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + n * 30, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + n * 30, 'unixepoch')
         FROM seq`,
      )
      .bind(start + 1, end, load)
      .run();
  }
}

/** The baseline: each node's compiled SQL, and the indexes it declares, as a person would run them by hand. */
async function direct(db: D1Database): Promise<void> {
  const rename = (text: string) =>
    manifest.nodes.reduce(
      (t, n) =>
        t.replaceAll(`"${n.relation}"`, `"direct_${n.relation}"`).replaceAll(`"__sluice_idx_${n.relation}_`, `"direct_idx_${n.relation}_`),
      text,
    );
  for (const node of manifest.nodes) {
    const name = `direct_${node.relation}`;
    const sql = rename(await compileNode(manifest, node));
    if (node.config.materialized === "view") {
      await db.batch([db.prepare(`DROP VIEW IF EXISTS "${name}"`), db.prepare(`CREATE VIEW "${name}" AS ${sql}`)]);
    } else {
      const indexes = node.config.indexes.map(
        (index) =>
          `CREATE INDEX "direct_idx_${node.relation}_${index.columns.join("_")}" ON "${name}" (${index.columns.map((c) => `"${c}"`).join(", ")})`,
      );
      await db.batch([
        db.prepare(`DROP TABLE IF EXISTS "${name}"`),
        db.prepare(`CREATE TABLE "${name}" AS ${sql}`),
        ...indexes.map((i) => db.prepare(i)),
      ]);
    }
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const runtime = createRuntime(env, "scheduled", config);
    const started = Date.now();
    switch (url.pathname) {
      case "/ready":
        return new Response("ok");
      case "/seed":
        await env.DB.batch(
          [`DROP TABLE IF EXISTS ${source}`, createTableSql(source, "append", sourceColumns), ...indexSql(source, "append")].map((sql) =>
            env.DB.prepare(sql),
          ),
        );
        await seed(env.DB, Number(url.searchParams.get("rows") ?? 1_000_000));
        break;
      case "/grow": {
        const count = (await env.DB.prepare("SELECT count(*) AS n FROM raw_bench__orders").first<number>("n")) ?? 0;
        await seed(env.DB, Math.round(count / 100), count);
        break;
      }
      case "/engine": {
        const summary = await runModels(runtime, { trigger: "manual", manifest, fullRefresh: true });
        if (summary.status !== "success")
          return Response.json({ error: summary.results.find((r) => r.status !== "success") }, { status: 500 });
        const incremental = summary.results.find((r) => r.uniqueId === "model.bench.orders_latest")!;
        return Response.json({ ms: Date.now() - started, incrementalModelMs: incremental.executionMs });
      }
      case "/incremental": {
        const summary = await runModels(runtime, { trigger: "manual", manifest, select: ["orders_latest"] });
        const result = summary.results.find((r) => r.uniqueId === "model.bench.orders_latest")!;
        if (result.status !== "success") return Response.json({ error: result }, { status: 500 });
        return Response.json({ ms: result.executionMs, rows: result.rowsAffected });
      }
      case "/direct":
        await direct(env.DB);
        break;
    }
    return Response.json({ ms: Date.now() - started });
  },
} satisfies ExportedHandler<Env>;
