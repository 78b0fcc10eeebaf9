/**
 * dbt 1.8 unit tests on real local D1: given rows as dicts, CSV and SQL, expected rows compared on
 * the expected columns only; a failing unit test skips its model and everything downstream, with
 * a diff of the rows; overrides of vars, macros, env vars and is_incremental (with `this` given);
 * `test_type:unit` selection, and `run` leaving unit tests out.
 *
 * The project: a source table raw_orders, a view stg_orders over it, orders (a table over
 * stg_orders and the seed countries), orders_summary over orders, and an incremental model.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { compileManifest } from "../../src/models/compile/index.ts";
import { type RunOptions, runModels } from "../../src/models/runner.ts";
import { exec, rows } from "../support/pipeline.ts";

const ordersSql = `{{ config(materialized='table') }}
select o.id, upper(o.status) as status, o.amount * {{ var('multiplier', 2) }} as amount_x, c.name as country
from {{ ref('stg_orders') }} o left join {{ ref('countries') }} c on c.code = o.country
where o.status != 'void'`;

const incrementalSql = `{{ config(materialized='incremental', unique_key='id') }}
select id, amount * {{ fx_rate() }} as amount, '{{ env_var('REGION', 'eu') }}' as region from {{ ref('stg_orders') }}
{% if is_incremental() %} where id > (select max(id) from {{ this }}) {% endif %}`;

const project = (unitYaml: string) =>
  compileManifest({
    projectYaml: "name: shop\n",
    models: [
      { path: "models/staging/stg_orders.sql", sql: "select id, status, amount, country from {{ source('shop', 'raw_orders') }}" },
      { path: "models/orders.sql", sql: ordersSql },
      { path: "models/orders_summary.sql", sql: "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('orders') }}" },
      { path: "models/orders_incremental.sql", sql: incrementalSql },
    ],
    macros: [{ path: "macros/fx.sql", sql: "{% macro fx_rate() %}1{% endmacro %}" }],
    seeds: [{ path: "seeds/countries.csv", csv: "code,name\nNL,Netherlands\nBE,Belgium\n" }],
    properties: [
      { path: "models/sources.yml", yaml: "sources:\n  - name: shop\n    schema: main\n    tables:\n      - name: raw_orders\n" },
      { path: "models/unit.yml", yaml: `unit_tests:\n${unitYaml}` },
    ],
    sources: {},
  });

const run = async (unitYaml: string, options: Partial<RunOptions> = {}) =>
  runModels(createRuntime(env, "scheduled"), { trigger: "manual", manifest: await project(unitYaml), ...options });

/** stg_orders rows as a dict input: a void order is dropped, and order 3 names no amount (NULL). */
const givenDict = `    given:
      - input: ref('stg_orders')
        rows:
          - {id: 1, status: paid, amount: 10, country: NL}
          - {id: 2, status: void, amount: 5}
          - {id: 3, status: new, country: BE}
`;

const passing = `  - name: orders_from_dicts
    model: orders
${givenDict}    expect:
      rows:
        - {id: 3, status: NEW, amount_x: null, country: Belgium}
        - {id: 1, status: PAID, amount_x: 20, country: Netherlands}
  - name: orders_from_csv
    model: orders
    given:
      - input: ref('stg_orders')
        format: csv
        rows: |
          id,status,amount
          1,paid,10
          2,new,2.5
      - input: ref('countries')
        rows: []
    expect:
      format: csv
      rows: |
        id,amount_x,country
        1,20,
        2,5.0,
  - name: orders_from_sql
    model: orders
    given:
      - input: ref('stg_orders')
        format: sql
        rows: "select 7 as id, 'it''s paid' as status, 1 as amount, 'NL' as country"
    expect:
      format: sql
      rows: "select 7 as id, 'IT''S PAID' as status"
`;

beforeEach(async () => {
  for (const table of ["orders", "orders_summary", "orders_incremental", "countries"]) await exec(`DROP TABLE IF EXISTS ${table}`);
  await exec("DROP VIEW IF EXISTS stg_orders");
  await exec("DROP TABLE IF EXISTS raw_orders");
  await exec("CREATE TABLE raw_orders (id INTEGER, status TEXT, amount INTEGER, country TEXT)");
  await exec("INSERT INTO raw_orders VALUES (1, 'paid', 10, 'NL'), (2, 'void', 3, 'BE')");
});

describe("unit tests in build", () => {
  it("pass with dict, CSV and SQL rows, run after the model's parents and before the model, which then builds", async () => {
    const summary = await run(passing);
    const order = summary.results.map((r) => r.uniqueId);
    expect(summary.results.filter((r) => r.resourceType === "unit_test")).toMatchObject([
      { uniqueId: "unit_test.shop.orders.orders_from_dicts", status: "pass", failures: 0, message: null },
      { uniqueId: "unit_test.shop.orders.orders_from_csv", status: "pass", failures: 0, message: null },
      { uniqueId: "unit_test.shop.orders.orders_from_sql", status: "pass", failures: 0, message: null },
    ]);
    expect(order.indexOf("model.shop.stg_orders")).toBeLessThan(order.indexOf("unit_test.shop.orders.orders_from_dicts"));
    expect(order.indexOf("unit_test.shop.orders.orders_from_sql")).toBeLessThan(order.indexOf("model.shop.orders"));
    // Unit tests read no tables: the model is built from the real rows.
    expect(await rows("SELECT id, status, amount_x, country FROM orders")).toEqual([
      { id: 1, status: "PAID", amount_x: 20, country: "Netherlands" },
    ]);
    expect(
      await rows(
        "SELECT resource_type, status FROM _sluice_model_results WHERE run_id = ?1 AND unique_id = ?2",
        summary.runId,
        "unit_test.shop.orders.orders_from_csv",
      ),
    ).toEqual([{ resource_type: "unit_test", status: "pass" }]);
  });

  it("fails with a diff of expected and actual rows, skipping the model and everything downstream", async () => {
    const summary = await run(`  - name: orders_wrong
    model: orders
${givenDict}    expect:
      rows:
        - {id: 1, status: PAID}
        - {id: 3, status: new}
`);
    const byId = Object.fromEntries(summary.results.map((r) => [r.uniqueId, r]));
    expect(byId["unit_test.shop.orders.orders_wrong"]).toMatchObject({
      resourceType: "unit_test",
      status: "fail",
      failures: 2,
      message:
        "actual differs from expected: 1 expected row missing, 1 row not expected\n\n@@  | id | status\n--- | 3  | new\n+++ | 3  | NEW",
    });
    expect(byId["model.shop.stg_orders"]).toMatchObject({ status: "success" });
    expect(byId["model.shop.orders"]).toMatchObject({
      status: "skipped",
      message: "skipped: upstream unit_test.shop.orders.orders_wrong did not succeed",
    });
    expect(byId["model.shop.orders_summary"]).toMatchObject({ status: "skipped" });
    expect(summary.status).toBe("error");
    expect(await rows("SELECT name FROM sqlite_master WHERE name IN ('orders', 'orders_summary')")).toEqual([]);
  });

  it("errors, naming the column, when the model returns no expected column", async () => {
    const summary = await run(`  - name: orders_no_column
    model: orders
${givenDict}    expect:
      rows:
        - {id: 1, total: 20}
`);
    expect(summary.results.find((r) => r.uniqueId === "unit_test.shop.orders.orders_no_column")).toMatchObject({
      status: "error",
      message: 'the model returns no column "total" (it returns id, status, amount_x, country)',
    });
    expect(summary.results.find((r) => r.uniqueId === "model.shop.orders")).toMatchObject({ status: "skipped" });
  });

  it("overrides vars, macros, env vars and is_incremental, with `this` given as the model's existing rows", async () => {
    const summary = await run(`  - name: multiplied
    model: orders
${givenDict}    overrides:
      vars: {multiplier: 10}
    expect:
      rows:
        - {id: 1, amount_x: 100}
        - {id: 3, amount_x: null}
  - name: incremental_rows
    model: orders_incremental
    overrides:
      macros: {is_incremental: true, fx_rate: 3}
      env_vars: {REGION: us}
    given:
      - input: ref('stg_orders')
        rows:
          - {id: 1, amount: 1}
          - {id: 2, amount: 2}
          - {id: 3, amount: 3}
      - input: this
        rows:
          - {id: 2}
    expect:
      rows:
        - {id: 3, amount: 9, region: us}
  - name: full_refresh_rows
    model: orders_incremental
    given:
      - input: ref('stg_orders')
        rows:
          - {id: 1, amount: 1}
    expect:
      rows:
        - {id: 1, amount: 1, region: eu}
`);
    expect(summary.results.filter((r) => r.resourceType === "unit_test")).toMatchObject([
      { uniqueId: "unit_test.shop.orders.multiplied", status: "pass" },
      { uniqueId: expect.stringMatching(/^unit_test\.shop\.orders_incremental\./), status: "pass" },
      { uniqueId: expect.stringMatching(/^unit_test\.shop\.orders_incremental\./), status: "pass" },
    ]);
    // The overrides were the test's alone: the model builds with the project's values.
    expect(await rows("SELECT id, amount_x FROM orders")).toEqual([{ id: 1, amount_x: 20 }]);
    expect(await rows("SELECT id, amount, region FROM orders_incremental ORDER BY id")).toEqual([
      { id: 1, amount: 10, region: "eu" },
      { id: 2, amount: 3, region: "eu" },
    ]);
  });
});

describe("unit tests and selection", () => {
  it("test_type:unit runs only the unit tests, and building a model by name brings its unit tests", async () => {
    const only = await run(passing, { command: "test", select: ["test_type:unit"] });
    expect(only.results.map((r) => [r.uniqueId, r.status])).toEqual([
      ["unit_test.shop.orders.orders_from_dicts", "pass"],
      ["unit_test.shop.orders.orders_from_csv", "pass"],
      ["unit_test.shop.orders.orders_from_sql", "pass"],
    ]);
    expect(await rows("SELECT name FROM sqlite_master WHERE name = 'orders'")).toEqual([]);

    const byName = await run(passing, { select: ["orders"] });
    expect(byName.results.map((r) => r.uniqueId)).toEqual([
      "unit_test.shop.orders.orders_from_dicts",
      "unit_test.shop.orders.orders_from_csv",
      "unit_test.shop.orders.orders_from_sql",
      "model.shop.orders",
    ]);
  });

  it("run builds the models and leaves the unit tests out", async () => {
    const summary = await run(passing, { command: "run" });
    expect(summary.results.filter((r) => r.resourceType === "unit_test")).toEqual([]);
    expect(summary.results.find((r) => r.uniqueId === "model.shop.stg_orders")).toMatchObject({ status: "success" });
  });
});
