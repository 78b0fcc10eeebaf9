/**
 * test/fixtures/jaffle built on the real local D1, as a team's dbt project of today builds: seeds
 * enabled by a run var and loaded into `raw`, sources over them, macros that dispatch, the
 * shop_utils package's star, surrogate key, get_column_values and generic tests, and both
 * incremental strategies across two runs.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/jinja/index.ts";
import { renderGlobals } from "../../src/models/context/context.ts";
import { macroLibrary } from "../../src/models/context/project.ts";
import { Relation } from "../../src/models/context/relation.ts";
import type { RunSummary } from "../../src/models/runner.ts";
import { jaffleManifest } from "../support/fixture-project.ts";
import { buildManifest, exec, rows } from "../support/pipeline.ts";

const vars = { load_source_data: true };
const relations = [
  "raw__raw_customers",
  "raw__raw_orders",
  "raw__raw_items",
  "raw__raw_products",
  "orders",
  "customers",
  "order_statuses",
  "order_log",
  "orders_by_year",
  "main_finance__daily_revenue",
];
const views = ["stg_customers", "stg_orders", "stg_items", "stg_products"];

beforeEach(async () => {
  for (const view of views) await exec(`DROP VIEW IF EXISTS ${view}`);
  for (const table of relations) await exec(`DROP TABLE IF EXISTS ${table}`);
});

const statuses = (summary: RunSummary) => Object.fromEntries(summary.results.map((r) => [r.uniqueId, r.status]));

/** The orders of the second day's export: 103 and 104 moved on, 101 was returned, 106 is new. */
const laterOrders = `id,customer,ordered_at,status,subtotal,tax_paid
101,1,2024-03-01 08:15:00,returned,1300,130
102,2,2024-03-01 12:40:00,completed,850,85
103,1,2024-03-02 09:05:00,completed,1150,115
104,3,2024-03-02 17:30:00,shipped,700,70
105,2,2024-03-03 07:55:00,returned,380,38
106,4,2024-03-03 10:20:00,placed,850,85
`;
const laterItems = `id,order_id,sku
1,101,JAF-01
2,101,BEV-01
3,102,JAF-01
4,103,JAF-02
5,103,BEV-01
6,104,JAF-02
7,105,BEV-02
8,106,JAF-01
`;

describe("the jaffle fixture built with load_source_data", () => {
  it("loads the seeds into raw, builds every model and passes every test", async () => {
    const summary = await buildManifest(jaffleManifest({ vars }));
    expect(summary.status).toBe("success");
    expect(statuses(summary)).toEqual({
      "seed.jaffle.raw_customers": "success",
      "seed.jaffle.raw_products": "success",
      "seed.jaffle.raw_orders": "success",
      "seed.jaffle.raw_items": "success",
      "model.jaffle.stg_customers": "success",
      "model.jaffle.stg_products": "success",
      "model.jaffle.stg_orders": "success",
      "model.jaffle.stg_items": "success",
      "model.jaffle.orders": "success",
      "model.jaffle.customers": "success",
      "model.jaffle.order_statuses": "success",
      "model.jaffle.order_log": "success",
      "model.jaffle.orders_by_year": "success",
      "unit_test.jaffle.stg_orders.dollars_and_days": "pass",
      "unit_test.jaffle.order_statuses.closed_orders_not_read_again": "pass",
      "model.jaffle.daily_revenue": "success",
      "test.jaffle.relationships_stg_items_product_id__product_id__ref_stg_products_.269c60da63": "pass",
      "test.jaffle.unique_stg_products_product_id.7d950a1467": "pass",
      "test.jaffle.shop_utils_accepted_range_stg_products_product_price__20__0.377902325f": "pass",
      "test.jaffle.unique_stg_orders_order_id.e3b841c71a": "pass",
      "test.jaffle.not_null_stg_orders_order_id.81cfe2fe64": "pass",
      "test.jaffle.accepted_values_stg_orders_status__placed__shipped__completed__returned.7511f2d274": "pass",
      "test.jaffle.is_positive_stg_orders_order_total.1f9befb482": "pass",
      "test.jaffle.unique_stg_customers_customer_id.c7614daada": "pass",
      "test.jaffle.not_null_stg_customers_customer_id.e2cfb1f9aa": "pass",
      "test.jaffle.assert_items_add_up_to_subtotal": "pass",
      "test.jaffle.unique_orders_order_key.e363715e97": "pass",
      "test.jaffle.not_null_orders_order_key.0aa707ff2c": "pass",
      "test.jaffle.shop_utils_accepted_range_orders_item_count__1.4fc3fc38d2": "pass",
      "test.jaffle.shop_utils_expression_is_true_orders_abs_order_total_subtotal_tax_paid_0_005.1891b6ad66": "pass",
      "test.jaffle.accepted_values_customers_customer_type__new__returning__prospect.9e679f234d": "pass",
      "test.jaffle.is_positive_customers_True__lifetime_spend.c73e5eaa4b": "pass",
      "test.jaffle.shop_utils_expression_is_true_daily_revenue_revenue_0.956d9b79dc": "pass",
      "test.jaffle.unique_customers_customer_id.c5af1ff4b1": "pass",
      "test.jaffle.unique_daily_revenue_ordered_on.8f5a7442d9": "pass",
      "test.jaffle.unique_order_statuses_order_id.4104d9b0ab": "pass",
    });
    // Seeds land in raw__<seed>, where the sources declared with `schema: raw` read them.
    expect(await rows("SELECT id, status, subtotal FROM raw__raw_orders WHERE id = 103")).toEqual([
      { id: 103, status: "shipped", subtotal: 1150 },
    ]);
    // The append model holds every order once; the microbatch model counts them per yearly batch.
    expect(await rows("SELECT count(*) AS n, count(DISTINCT order_id) AS d FROM order_log")).toEqual([{ n: 5, d: 5 }]);
    expect(await rows("SELECT ordered_year, order_count FROM orders_by_year ORDER BY 1")).toEqual([
      { ordered_year: "2024-01-01T00:00:00Z", order_count: 5 },
    ]);
  });

  it("builds the marts: sqlite__ dispatch, the project's surrogate key, star, get_column_values, a caller() macro", async () => {
    await buildManifest(jaffleManifest({ vars }));
    const day = (d: string) => `2024-03-0${d}T00:00:00.000Z`;
    // order_key: the project's sqlite__surrogate_key wins over shop_utils' default (ids joined by '|', hex of the text).
    // star() left out the cents columns; get_column_values() made one column per product type, alphabetically.
    expect(await rows("SELECT * FROM orders ORDER BY order_id")).toEqual([
      {
        order_key: "3130317c31",
        order_id: 101,
        customer_id: 1,
        status: "completed",
        subtotal: 13,
        tax_paid: 1.3,
        order_total: 14.3,
        ordered_at: "2024-03-01 08:15:00",
        ordered_on: day("1"),
        item_count: 2,
        beverage_items: 1,
        jaffle_items: 1,
        items_subtotal: 13,
        status_group: "closed",
        promised_on: day("3"),
        is_large_order: 1,
      },
      {
        order_key: "3130327c32",
        order_id: 102,
        customer_id: 2,
        status: "completed",
        subtotal: 8.5,
        tax_paid: 0.85,
        order_total: 9.35,
        ordered_at: "2024-03-01 12:40:00",
        ordered_on: day("1"),
        item_count: 1,
        beverage_items: 0,
        jaffle_items: 1,
        items_subtotal: 8.5,
        status_group: "closed",
        promised_on: day("3"),
        is_large_order: 0,
      },
      {
        order_key: "3130337c31",
        order_id: 103,
        customer_id: 1,
        status: "shipped",
        subtotal: 11.5,
        tax_paid: 1.15,
        order_total: 12.65,
        ordered_at: "2024-03-02 09:05:00",
        ordered_on: day("2"),
        item_count: 2,
        beverage_items: 1,
        jaffle_items: 1,
        items_subtotal: 11.5,
        status_group: "open",
        promised_on: day("4"),
        is_large_order: 1,
      },
      {
        order_key: "3130347c33",
        order_id: 104,
        customer_id: 3,
        status: "placed",
        subtotal: 7,
        tax_paid: 0.7,
        order_total: 7.7,
        ordered_at: "2024-03-02 17:30:00",
        ordered_on: day("2"),
        item_count: 1,
        beverage_items: 0,
        jaffle_items: 1,
        items_subtotal: 7,
        status_group: "open",
        promised_on: day("4"),
        is_large_order: 0,
      },
      {
        order_key: "3130357c32",
        order_id: 105,
        customer_id: 2,
        status: "returned",
        subtotal: 3.8,
        tax_paid: 0.38,
        order_total: 4.18,
        ordered_at: "2024-03-03 07:55:00",
        ordered_on: day("3"),
        item_count: 1,
        beverage_items: 1,
        jaffle_items: 0,
        items_subtotal: 3.8,
        status_group: "closed",
        promised_on: day("5"),
        is_large_order: 0,
      },
    ]);
    // star(ref('stg_customers'), except=['cohort_month'], relation_alias='customers'), in a model whose
    // CTE named `orders` reads ref('orders').
    expect(await rows("SELECT * FROM customers ORDER BY customer_id")).toEqual([
      {
        customer_id: 1,
        customer_name: "Ada Byrne",
        order_count: 2,
        lifetime_spend: 26.95,
        first_ordered_on: day("1"),
        customer_type: "returning",
      },
      {
        customer_id: 2,
        customer_name: "Bo Carver",
        order_count: 1,
        lifetime_spend: 9.35,
        first_ordered_on: day("1"),
        customer_type: "new",
      },
      {
        customer_id: 3,
        customer_name: "Cyd Dunmore",
        order_count: 1,
        lifetime_spend: 7.7,
        first_ordered_on: day("2"),
        customer_type: "new",
      },
      { customer_id: 4, customer_name: "Dee Ellery", order_count: 0, lifetime_spend: 0, first_ordered_on: null, customer_type: "prospect" },
    ]);
    expect(await rows("SELECT customer_id, cohort_month FROM stg_customers WHERE customer_id IN (2, 3) ORDER BY 1")).toEqual([
      { customer_id: 2, cohort_month: "2024-01-01T00:00:00.000Z" },
      { customer_id: 3, cohort_month: "2024-02-01T00:00:00.000Z" },
    ]);
  });

  it("merges changed orders and replaces the latest days on a second run over new seed data", async () => {
    await buildManifest(jaffleManifest({ vars }));
    const second = await buildManifest(
      jaffleManifest({ vars }, { "seeds/shop-data/raw_orders.csv": laterOrders, "seeds/shop-data/raw_items.csv": laterItems }),
    );
    expect(second.status).toBe("success");
    expect(second.results.find((r) => r.uniqueId === "model.jaffle.order_statuses")).toMatchObject({ status: "success", rowsAffected: 3 });
    // merge: open orders (103, 104) and the new one (106) are read again; first_status is excluded
    // from the update; 101 was closed in the table, so its return is not read.
    expect(await rows("SELECT * FROM order_statuses ORDER BY order_id")).toEqual([
      { order_id: 101, customer_id: 1, status: "completed", first_status: "completed", status_group: "closed", order_total: 14.3 },
      { order_id: 102, customer_id: 2, status: "completed", first_status: "completed", status_group: "closed", order_total: 9.35 },
      { order_id: 103, customer_id: 1, status: "completed", first_status: "shipped", status_group: "closed", order_total: 12.65 },
      { order_id: 104, customer_id: 3, status: "shipped", first_status: "placed", status_group: "open", order_total: 7.7 },
      { order_id: 105, customer_id: 2, status: "returned", first_status: "returned", status_group: "closed", order_total: 4.18 },
      { order_id: 106, customer_id: 4, status: "placed", first_status: "placed", status_group: "open", order_total: 9.35 },
    ]);
    // delete+insert on ordered_on: the 2nd and 3rd are recomputed, the 1st keeps its first-run revenue.
    expect(await rows("SELECT * FROM main_finance__daily_revenue ORDER BY ordered_on")).toEqual([
      { ordered_on: "2024-03-01T00:00:00.000Z", order_count: 2, revenue: 23.65 },
      { ordered_on: "2024-03-02T00:00:00.000Z", order_count: 2, revenue: 20.35 },
      { ordered_on: "2024-03-03T00:00:00.000Z", order_count: 1, revenue: 9.35 },
    ]);
    // The table mart is rebuilt: Dee has her first order.
    expect(await rows("SELECT customer_id, order_count, lifetime_spend, customer_type FROM customers WHERE customer_id IN (1, 4)")).toEqual(
      [
        { customer_id: 1, order_count: 1, lifetime_spend: 12.65, customer_type: "new" },
        { customer_id: 4, order_count: 1, lifetime_spend: 9.35, customer_type: "new" },
      ],
    );
  });

  it("skips what is built on a model whose package test fails", async () => {
    const products =
      "sku,name,type,price\nJAF-01,Sourdough jaffle,jaffle,850\nJAF-02,Cheese jaffle,jaffle,700\nBEV-01,Flat white,beverage,2450\nBEV-02,Iced tea,beverage,380\n";
    const summary = await buildManifest(jaffleManifest({ vars }, { "seeds/shop-data/raw_products.csv": products }));
    const result = (id: string) => summary.results.find((r) => r.uniqueId === id);
    expect(result("test.jaffle.shop_utils_accepted_range_stg_products_product_price__20__0.377902325f")).toMatchObject({
      status: "fail",
      failures: 1,
    });
    expect(result("model.jaffle.orders")).toMatchObject({
      status: "skipped",
      message: "skipped: upstream model.jaffle.stg_products failed a test",
    });
    for (const model of ["customers", "order_statuses", "daily_revenue"]) expect(result(`model.jaffle.${model}`)?.status).toBe("skipped");
    // What does not read the products is built.
    expect(result("model.jaffle.stg_customers")?.status).toBe("success");
    expect(await rows("SELECT name FROM sqlite_master WHERE name IN ('orders', 'customers')")).toEqual([]);
  });
});

describe("run_query results as dbt's agate tables", () => {
  it("reads column_names, rows by column name and columns[i].values()", async () => {
    const manifest = await jaffleManifest({ vars });
    const globals = renderGlobals({
      library: macroLibrary(manifest),
      node: {
        uniqueId: "model.jaffle.x",
        name: "x",
        resourceType: "model",
        package: "jaffle",
        path: "x.sql",
        config: {},
        relation: new Relation("main", "x"),
      },
      vars: () => ({}),
      ref: (name) => new Relation("main", name),
      source: (_source, table) => new Relation("main", table),
      execute: true,
      db: env.DB,
    })("jaffle");
    const template = parseTemplate(
      "{% set r = run_query(\"select 1 as n, 'a' as s union all select 2, 'b'\") %}{{ r.column_names }}|{{ r.rows[1]['s'] }}|{{ r.columns[0].values() }}|{{ r | length }}",
      "x.sql",
    );
    expect(await template.render(globals)).toBe("['n', 's']|b|[1, 2]|2");
  });
});
