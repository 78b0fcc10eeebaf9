import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { compileManifest } from "../../src/models/compile/index.ts";
import { runModels } from "../../src/models/runner.ts";
import { rows } from "../support/pipeline.ts";

const manifest = (sql: string, config = "unique_key='id'") =>
  compileManifest({
    projectYaml: "name: inc\n",
    models: [
      { path: "models/events_src.sql", sql: "{{ config(materialized='table') }}\nselect * from inc_source" },
      { path: "models/latest.sql", sql: `{{ config(materialized='incremental', ${config}) }}\n${sql}` },
    ],
    sources: {},
  });

const latestSql = `select id, status, updated_at from {{ ref('events_src') }}
{% if is_incremental() %}
where updated_at > (select coalesce(max(updated_at), '') from {{ this }})
{% endif %}`;

const run = (m: Awaited<ReturnType<typeof manifest>>, fullRefresh = false) =>
  runModels(createRuntime(env, "scheduled"), { trigger: "manual", manifest: m, fullRefresh });
const insert = (values: string) => env.DB.prepare(`INSERT INTO inc_source (id, status, updated_at) VALUES ${values}`).run();

describe("incremental models across runs", () => {
  it("merges late and updated rows by unique_key, never duplicating, and NULL keys stay single", async () => {
    await env.DB.prepare("DROP TABLE IF EXISTS inc_source").run();
    await env.DB.prepare("CREATE TABLE inc_source (id INTEGER, status TEXT, updated_at TEXT)").run();
    const m = await manifest(latestSql);

    await insert("(1, 'new', '2026-01-01'), (2, 'new', '2026-01-01'), (NULL, 'orphan', '2026-01-01')");
    const first = await run(m);
    expect(first.results.find((r) => r.uniqueId === "model.inc.latest")).toMatchObject({ status: "success", rowsAffected: 3 });

    // An update to 1 and a new row 3, plus a late row for 4 that still sorts after the watermark.
    await env.DB.prepare("UPDATE inc_source SET status = 'paid', updated_at = '2026-01-02' WHERE id = 1").run();
    await insert("(3, 'new', '2026-01-02'), (4, 'late', '2026-01-03')");
    const second = await run(m);
    expect(second.results.find((r) => r.uniqueId === "model.inc.latest")).toMatchObject({ status: "success", rowsAffected: 3 });
    expect(await rows("SELECT id, status FROM latest ORDER BY id")).toEqual([
      { id: null, status: "orphan" },
      { id: 1, status: "paid" },
      { id: 2, status: "new" },
      { id: 3, status: "new" },
      { id: 4, status: "late" },
    ]);

    // Third run: the NULL-keyed row changes; it replaces its old self instead of piling up.
    await env.DB.prepare("UPDATE inc_source SET status = 'adopted', updated_at = '2026-01-04' WHERE id IS NULL").run();
    await run(m);
    expect(await rows("SELECT id, status FROM latest WHERE id IS NULL")).toEqual([{ id: null, status: "adopted" }]);
    expect(await rows("SELECT count(*) AS n FROM latest")).toEqual([{ n: 5 }]);

    // A full refresh rebuilds from scratch, with the same rows.
    await run(m, true);
    expect(await rows("SELECT count(*) AS n FROM latest")).toEqual([{ n: 5 }]);
  });

  it("without a unique_key appends; on_schema_change decides about new columns", async () => {
    await env.DB.prepare("DROP TABLE IF EXISTS inc_source").run();
    await env.DB.prepare("DROP TABLE IF EXISTS latest").run();
    await env.DB.prepare("CREATE TABLE inc_source (id INTEGER, status TEXT, updated_at TEXT)").run();
    await insert("(1, 'a', '2026-01-01')");
    const append = await manifest("select id, status, updated_at from {{ ref('events_src') }}", "on_schema_change='fail'");
    await run(append);
    await run(append);
    expect(await rows("SELECT count(*) AS n FROM latest")).toEqual([{ n: 2 }]);

    const widened = await manifest("select id, status, updated_at, 'x' as extra from {{ ref('events_src') }}", "on_schema_change='fail'");
    const failed = await run(widened);
    expect(failed.results.find((r) => r.uniqueId === "model.inc.latest")).toMatchObject({
      status: "error",
      message: "new columns extra and on_schema_change is fail",
    });

    const appended = await manifest(
      "select id, status, updated_at, 'x' as extra from {{ ref('events_src') }}",
      "on_schema_change='append_new_columns'",
    );
    await run(appended);
    expect(await rows("SELECT count(*) AS n, count(extra) AS with_extra FROM latest")).toEqual([{ n: 3, with_extra: 1 }]);
  });
});

describe("snapshots (SCD2, timestamp strategy)", () => {
  const snapshotManifest = () =>
    compileManifest({
      projectYaml: "name: inc\n",
      models: [],
      snapshots: [
        {
          path: "snapshots/customers_snapshot.sql",
          sql: `{% snapshot customers_snapshot %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select id, tier, updated_at from snap_source
{% endsnapshot %}`,
        },
      ],
      sources: {},
    });

  it("keeps every version with valid_from and valid_to, closing the old one when updated_at moves", async () => {
    await env.DB.prepare("DROP TABLE IF EXISTS snap_source").run();
    await env.DB.prepare("DROP TABLE IF EXISTS snapshots__customers_snapshot").run();
    await env.DB.prepare("CREATE TABLE snap_source (id INTEGER, tier TEXT, updated_at TEXT)").run();
    await env.DB.prepare("INSERT INTO snap_source VALUES (1, 'free', '2026-01-01'), (2, 'free', '2026-01-01')").run();
    const m = await snapshotManifest();
    expect(m.nodes[0]).toMatchObject({
      uniqueId: "snapshot.inc.customers_snapshot",
      // target_schema='snapshots': a schema other than main names the relation <schema>__<alias>.
      relation: "snapshots__customers_snapshot",
      resourceType: "snapshot",
      config: { materialized: "snapshot", unique_key: "id" },
    });

    await run(m);
    await env.DB.prepare("UPDATE snap_source SET tier = 'pro', updated_at = '2026-02-01' WHERE id = 1").run();
    await run(m);
    await env.DB.prepare("INSERT INTO snap_source VALUES (3, 'free', '2026-03-01')").run();
    await run(m); // id 2 unchanged: no new version

    expect(
      await rows(
        "SELECT id, tier, dbt_valid_from, dbt_valid_to, dbt_scd_id FROM snapshots__customers_snapshot ORDER BY id, dbt_valid_from",
      ),
    ).toEqual([
      { id: 1, tier: "free", dbt_valid_from: "2026-01-01", dbt_valid_to: "2026-02-01", dbt_scd_id: "1|2026-01-01" },
      { id: 1, tier: "pro", dbt_valid_from: "2026-02-01", dbt_valid_to: null, dbt_scd_id: "1|2026-02-01" },
      { id: 2, tier: "free", dbt_valid_from: "2026-01-01", dbt_valid_to: null, dbt_scd_id: "2|2026-01-01" },
      { id: 3, tier: "free", dbt_valid_from: "2026-03-01", dbt_valid_to: null, dbt_scd_id: "3|2026-03-01" },
    ]);
  });

  it("fails the build when a snapshot lacks its strategy settings", async () => {
    await expect(() =>
      compileManifest({
        models: [],
        snapshots: [{ path: "snapshots/s.sql", sql: "{% snapshot s %}select 1{% endsnapshot %}" }],
        sources: {},
      }),
    ).rejects.toThrow(
      "snapshots/s.sql: snapshot s needs a strategy ('timestamp' with updated_at, or 'check' with check_cols) and a unique_key",
    );
  });
});

describe("declared indexes", () => {
  it("creates a model's `indexes` on the built table, and an incremental model's key index", async () => {
    await env.DB.prepare("DROP TABLE IF EXISTS inc_source").run();
    await env.DB.prepare("DROP TABLE IF EXISTS latest").run();
    await env.DB.prepare("CREATE TABLE inc_source (id INTEGER, status TEXT, updated_at TEXT)").run();
    await insert("(1, 'a', '2026-01-01')");
    const m = await manifest(
      latestSql,
      "unique_key='id', indexes=[{'columns': ['updated_at']}, {'columns': ['status', 'id'], 'unique': true}]",
    );
    await run(m);
    await run(m);
    const indexes = await rows<{ name: string; unique: number }>("SELECT name, \"unique\" FROM pragma_index_list('latest') ORDER BY name");
    expect(indexes).toEqual([
      { name: "__sluice_idx_latest_status_id", unique: 1 },
      { name: "__sluice_idx_latest_updated_at", unique: 0 },
      { name: "__sluice_key_latest", unique: 0 },
    ]);
  });
});
