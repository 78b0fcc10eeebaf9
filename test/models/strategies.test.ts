import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { compileManifest } from "../../src/models/compile/index.ts";
import { buildManifest, exec, rows } from "../support/pipeline.ts";

/** A project of one source table (`src_rows`), a table model over it, and the model under test. */
const project = (config: string, sql: string, upstream = "{{ config(materialized='table') }}\nselect * from src_rows") =>
  compileManifest({
    projectYaml: "name: strat\n",
    models: [
      { path: "models/upstream.sql", sql: upstream },
      { path: "models/target.sql", sql: `{{ config(materialized='incremental', ${config}) }}\n${sql}` },
    ],
    sources: {},
  });

const run = async (m: Parameters<typeof buildManifest>[0], fullRefresh = false) => {
  const summary = await buildManifest(m, fullRefresh);
  return summary.results.find((r) => r.uniqueId === "model.strat.target")!;
};

beforeEach(async () => {
  await exec("DROP TABLE IF EXISTS target");
  await exec("DROP TABLE IF EXISTS src_rows");
  await exec("CREATE TABLE src_rows (id INTEGER, status TEXT, note TEXT)");
  await exec("INSERT INTO src_rows VALUES (1, 'new', 'first'), (2, 'new', 'second')");
});

describe("incremental_strategy: merge", () => {
  const changeSource = async () => {
    await exec("UPDATE src_rows SET status = 'paid', note = 'changed' WHERE id = 1");
    await exec("INSERT INTO src_rows VALUES (3, 'new', 'third')");
  };

  it("updates only merge_update_columns on matched keys and inserts new keys", async () => {
    const m = await project(
      "unique_key='id', incremental_strategy='merge', merge_update_columns=['status']",
      "select * from {{ ref('upstream') }}",
    );
    await run(m);
    await changeSource();
    // Two matched keys updated, one new key inserted.
    expect(await run(m)).toMatchObject({ status: "success", rowsAffected: 3 });
    expect(await rows("SELECT id, status, note FROM target ORDER BY id")).toEqual([
      { id: 1, status: "paid", note: "first" },
      { id: 2, status: "new", note: "second" },
      { id: 3, status: "new", note: "third" },
    ]);
  });

  it("leaves merge_exclude_columns as they were, and without either list updates every column", async () => {
    const excluding = await project(
      "unique_key='id', incremental_strategy='merge', merge_exclude_columns=['note']",
      "select * from {{ ref('upstream') }}",
    );
    await run(excluding);
    await changeSource();
    await run(excluding);
    expect(await rows("SELECT id, status, note FROM target WHERE id = 1")).toEqual([{ id: 1, status: "paid", note: "first" }]);

    const all = await project("unique_key='id', incremental_strategy='merge'", "select * from {{ ref('upstream') }}");
    await run(all);
    expect(await rows("SELECT id, status, note FROM target ORDER BY id")).toEqual([
      { id: 1, status: "paid", note: "changed" },
      { id: 2, status: "new", note: "second" },
      { id: 3, status: "new", note: "third" },
    ]);
  });

  it("fails, changing nothing, when the model's rows repeat a key", async () => {
    const m = await project("unique_key='id', incremental_strategy='merge'", "select * from {{ ref('upstream') }}");
    await run(m);
    await exec("INSERT INTO src_rows VALUES (2, 'dup', 'again')");
    expect(await run(m)).toMatchObject({
      status: "error",
      message: "merge: 1 unique_key value (id) repeat in the model's rows; a merge takes one row per key",
    });
    expect(await rows("SELECT id, status FROM target ORDER BY id")).toEqual([
      { id: 1, status: "new" },
      { id: 2, status: "new" },
    ]);
    expect(await rows("SELECT name FROM sqlite_master WHERE name LIKE '__sluice_tmp_%'")).toEqual([]);
  });
});

describe("delete+insert, full_refresh and on_schema_change", () => {
  it("delete+insert replaces the rows of each key the run brings", async () => {
    const m = await project("unique_key='id', incremental_strategy='delete+insert'", "select * from {{ ref('upstream') }} where id = 1");
    await run(m);
    await exec("UPDATE src_rows SET status = 'paid' WHERE id = 1");
    await run(m);
    expect(await rows("SELECT id, status FROM target")).toEqual([{ id: 1, status: "paid" }]);
  });

  it("full_refresh: false keeps a model incremental on a --full-refresh run; without it the table is rebuilt", async () => {
    const kept = await project("full_refresh=false", "select id from {{ ref('upstream') }} where id = 1");
    await run(kept);
    await run(kept, true);
    expect(await rows("SELECT count(*) AS n FROM target")).toEqual([{ n: 2 }]);
    const rebuilt = await project("incremental_strategy='append'", "select id from {{ ref('upstream') }} where id = 1");
    await run(rebuilt, true);
    expect(await rows("SELECT count(*) AS n FROM target")).toEqual([{ n: 1 }]);
  });

  it("sync_all_columns adds the model's new columns and drops those it no longer has", async () => {
    const before = await project(
      "unique_key='id', on_schema_change='sync_all_columns'",
      "select id, status, note from {{ ref('upstream') }}",
    );
    await run(before);
    const after = await project(
      "unique_key='id', on_schema_change='sync_all_columns'",
      "select id, status, 'x' as flag from {{ ref('upstream') }} where id = 1",
    );
    expect(await run(after)).toMatchObject({ status: "success" });
    expect((await rows<{ name: string }>("SELECT name FROM pragma_table_info('target')")).map((c) => c.name)).toEqual([
      "id",
      "status",
      "flag",
    ]);
    expect(await rows("SELECT id, status, flag FROM target ORDER BY id")).toEqual([
      { id: 1, status: "new", flag: "x" },
      { id: 2, status: "new", flag: null },
    ]);
  });

  it("on_schema_change: fail names removed columns too", async () => {
    await run(project("on_schema_change='fail'", "select id, status from {{ ref('upstream') }}"));
    expect(await run(project("on_schema_change='fail'", "select id from {{ ref('upstream') }}"))).toMatchObject({
      status: "error",
      message: "removed columns status and on_schema_change is fail",
    });
  });
});

describe("incremental_strategy: microbatch", () => {
  const day = (back: number) => {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - back));
  };
  const iso = (back: number, hour: number) => new Date(day(back).getTime() + hour * 3_600_000).toISOString();
  const spaced = (back: number, hour: number) => iso(back, hour).slice(0, 19).replace("T", " ");
  const microbatch = (lookback = "") =>
    project(
      `incremental_strategy='microbatch', event_time='occurred_at', batch_size='day', begin='${day(3).toISOString().slice(0, 10)}'${lookback}`,
      "select id, amount, occurred_at from {{ ref('upstream') }}",
      "{{ config(materialized='table', event_time='occurred_at') }}\nselect * from mb_source",
    );

  beforeEach(async () => {
    await exec("DROP TABLE IF EXISTS mb_source");
    await exec("CREATE TABLE mb_source (id INTEGER, amount INTEGER, occurred_at TEXT)");
    // One event a day over four days, in both ISO 8601 forms Sluice meets (T and Z, or a space).
    await env.DB.prepare("INSERT INTO mb_source VALUES (1, 1, ?1), (2, 1, ?2), (3, 1, ?3), (4, 1, ?4)")
      .bind(iso(3, 1), spaced(2, 5), iso(1, 23), spaced(0, 0))
      .run();
  });

  it("builds every batch from begin, each reading only its window of upstream rows", async () => {
    expect(await run(microbatch())).toMatchObject({ status: "success", rowsAffected: 4 });
    expect(await rows("SELECT id, amount FROM target ORDER BY id")).toEqual([1, 2, 3, 4].map((id) => ({ id, amount: 1 })));
  });

  it("an incremental run replaces only the current batch and the lookback's; a full refresh rebuilds from begin", async () => {
    const m = await microbatch();
    await run(m);
    await exec("UPDATE mb_source SET amount = 2");
    await env.DB.prepare("INSERT INTO mb_source VALUES (5, 2, ?1)").bind(iso(2, 12)).run();
    // lookback 1 (the default): today's batch and yesterday's are redone; older days are left alone.
    expect(await run(m)).toMatchObject({ status: "success", rowsAffected: 2 });
    expect(await rows("SELECT id, amount FROM target ORDER BY id")).toEqual([
      { id: 1, amount: 1 },
      { id: 2, amount: 1 },
      { id: 3, amount: 2 },
      { id: 4, amount: 2 },
    ]);
    // lookback 2 reaches the day of the late event 5.
    await run(microbatch(", lookback=2"));
    expect(await rows("SELECT id, amount FROM target ORDER BY id")).toEqual([
      { id: 1, amount: 1 },
      { id: 2, amount: 2 },
      { id: 3, amount: 2 },
      { id: 4, amount: 2 },
      { id: 5, amount: 2 },
    ]);
    await run(m, true);
    expect(await rows("SELECT count(*) AS n, min(amount) AS low FROM target")).toEqual([{ n: 5, low: 2 }]);
  });

  it("removes a batch's rows that left the upstream window", async () => {
    const m = await microbatch();
    await run(m);
    await exec("DELETE FROM mb_source WHERE id = 4");
    await run(m);
    expect(await rows("SELECT id FROM target ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });
});
