import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { compileManifest, type ProjectFiles } from "../../src/models/compile/index.ts";
import type { Manifest } from "../../src/models/manifest-schema.ts";
import { runModels } from "../../src/models/runner.ts";
import { rows } from "../support/pipeline.ts";

const compile = (files: Partial<ProjectFiles>) => compileManifest({ projectYaml: "name: hk\n", models: [], sources: {}, ...files });
const run = async (m: Manifest | ReturnType<typeof compile>, fullRefresh = false) =>
  runModels(createRuntime(env, "scheduled"), { trigger: "manual", manifest: await m, fullRefresh });
const exec = (sql: string) => env.DB.prepare(sql).run();

beforeEach(async () => {
  for (const table of ["hook_log", "hooked", "contracted", "inc_contracted"]) await exec(`DROP TABLE IF EXISTS ${table}`);
  await exec("CREATE TABLE hook_log (step TEXT, seen INTEGER)");
});

describe("pre-hook and post-hook", () => {
  it("runs the model's own hooks before those of the project file, rendered with the node's context", async () => {
    const m = await compile({
      projectYaml: `name: hk
models:
  hk:
    +pre-hook: "insert into hook_log values ('project pre', 0)"
    +post-hook:
      - "insert into hook_log select 'project post {{ this }}', count(*) from {{ this }}"
`,
      models: [
        {
          path: "models/hooked.sql",
          sql: `{{ config(materialized='table', pre_hook="insert into hook_log values ('model pre', {{ var('answer') }})",
  post_hook=["insert into hook_log select 'model post', max(n) from {{ this }}; delete from hook_log where step = 'model pre'"]) }}
select 1 as n union all select 2`,
        },
      ],
    });
    m.vars = { answer: 42 };
    const summary = await run(m);
    expect(summary.results.map((r) => [r.uniqueId, r.status])).toEqual([["model.hk.hooked", "success"]]);
    expect(await rows("SELECT step, seen FROM hook_log ORDER BY rowid")).toEqual([
      { step: "project pre", seen: 0 },
      { step: "model post", seen: 2 },
      { step: 'project post "hooked"', seen: 2 },
    ]);
  });

  it("a failing hook fails its model, naming the hook", async () => {
    const m = await compile({
      models: [
        { path: "models/hooked.sql", sql: "{{ config(materialized='table', post_hook='insert into nowhere values (1)') }}select 1 as n" },
      ],
    });
    const [result] = (await run(m)).results;
    expect(result).toMatchObject({ status: "error", message: "post-hook failed: D1_ERROR: no such table: nowhere: SQLITE_ERROR" });
  });
});

describe("on-run-start and on-run-end", () => {
  const project = (start: string) =>
    compile({
      projectYaml: `name: hk
on-run-start:
  - ${start}
on-run-end: "insert into hook_log select 'end', count(*) from {{ ref('hooked') }}"
`,
      models: [{ path: "models/hooked.sql", sql: "{{ config(materialized='table') }}select 1 as n" }],
    });

  it("run once per run, before and after the nodes, recorded as operations", async () => {
    const summary = await run(project(`"insert into hook_log values ('start', {{ var('n', 7) }})"`));
    expect(summary.status).toBe("success");
    expect(summary.results.map((r) => [r.uniqueId, r.resourceType, r.status])).toEqual([
      ["operation.hk.hk-on-run-start-0", "operation", "success"],
      ["model.hk.hooked", "model", "success"],
      ["operation.hk.hk-on-run-end-0", "operation", "success"],
    ]);
    expect(await rows("SELECT step, seen FROM hook_log ORDER BY rowid")).toEqual([
      { step: "start", seen: 7 },
      { step: "end", seen: 1 },
    ]);
  });

  it("a failing on-run-start fails the run with its error, and no node runs", async () => {
    const summary = await run(project(`"insert into missing_table values (1)"`));
    expect(summary.status).toBe("error");
    expect(summary.results).toEqual([
      expect.objectContaining({
        uniqueId: "operation.hk.hk-on-run-start-0",
        status: "error",
        message: "on-run-start hook 0 failed: D1_ERROR: no such table: missing_table: SQLITE_ERROR",
      }),
    ]);
    const stored = await rows("SELECT status FROM _sluice_model_runs WHERE run_id = ?1", summary.runId);
    expect(stored).toEqual([{ status: "error" }]);
    expect(await rows("SELECT name FROM sqlite_master WHERE name = 'hooked'")).toEqual([]);
  });
});

describe("model contracts", () => {
  const contract = (sql: string, materialized = "table", extra = "") =>
    compile({
      models: [{ path: "models/contracted.sql", sql: `{{ config(materialized='${materialized}'${extra}) }}\n${sql}` }],
      properties: [
        {
          path: "models/schema.yml",
          yaml: `version: 2
models:
  - name: contracted
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints:
          - type: not_null
          - type: primary_key
      - name: amount
        data_type: real
        constraints:
          - type: check
            expression: "amount >= 0"
      - name: label
        data_type: text
`,
        },
      ],
    });

  it("creates the table with the declared types and constraints", async () => {
    const summary = await run(contract("select 1 as id, 2.5 as amount, 'a' as label union all select 2, 0.5, 'b'"));
    expect(summary.results[0]).toMatchObject({ status: "success", rowsAffected: 2 });
    expect(await rows("SELECT name, type, \"notnull\", pk FROM pragma_table_info('contracted')")).toEqual([
      { name: "id", type: "INTEGER", notnull: 1, pk: 1 },
      { name: "amount", type: "REAL", notnull: 0, pk: 0 },
      { name: "label", type: "TEXT", notnull: 0, pk: 0 },
    ]);
    expect(await rows("SELECT id, amount, label FROM contracted ORDER BY id")).toEqual([
      { id: 1, amount: 2.5, label: "a" },
      { id: 2, amount: 0.5, label: "b" },
    ]);
  });

  it("fails the model, listing each mismatch as dbt does, when the query does not match", async () => {
    const summary = await run(contract("select 'one' as id, 2.5 as amount, 'x' as extra"));
    expect(summary.results[0]).toMatchObject({
      status: "error",
      message: [
        "This model has an enforced contract that failed.",
        "Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.",
        "",
        "| column_name | definition_type | contract_type | mismatch_reason       |",
        "| ----------- | --------------- | ------------- | --------------------- |",
        "| id          | TEXT            | integer       | data type mismatch    |",
        "| label       |                 | text          | missing in definition |",
        "| extra       | TEXT            |               | missing in contract   |",
      ].join("\n"),
    });
    expect(await rows("SELECT name FROM sqlite_master WHERE name LIKE '%contracted%'")).toEqual([]);
  });

  it("a constraint violated by the rows fails the model and keeps the old table", async () => {
    await run(contract("select 1 as id, 2.5 as amount, 'a' as label"));
    const summary = await run(contract("select 1 as id, -1.0 as amount, 'a' as label"));
    expect(summary.results[0]).toMatchObject({
      status: "error",
      message: "D1_ERROR: CHECK constraint failed: amount >= 0: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_CHECK)",
    });
    expect(await rows("SELECT id, amount FROM contracted")).toEqual([{ id: 1, amount: 2.5 }]);
  });

  it("checks an incremental model's new rows against its contract on every run", async () => {
    const good = contract("select 1 as id, 2.5 as amount, 'a' as label", "incremental", ", unique_key='id'");
    await run(good);
    await run(good);
    expect(await rows("SELECT count(*) AS n FROM contracted")).toEqual([{ n: 1 }]);
    const [result] = (await run(contract("select 1 as id, 2.5 as amount, 3 as label", "incremental", ", unique_key='id'"))).results;
    expect(result?.message).toContain("| label       | INTEGER         | text          | data type mismatch |");
  });
});
