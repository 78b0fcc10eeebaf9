/**
 * test/fixtures/jaffle compiled as `npm run build` compiles a pipeline folder (scripts/lib/project.ts):
 * its installed package read from dbt_packages/, relations named by its generate_schema_name,
 * seeds enabled only by a run var, and exposures and metrics listed as parsed, not run.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/lib/dev-server.ts";
import { compileProject, readProjectFiles } from "../../scripts/lib/project.ts";
import { compileManifest } from "../../src/models/compile/index.ts";
import { compileNode } from "../../src/models/compile-node.ts";

const root = join(repoRoot, "test/fixtures/jaffle");
const manifest = await compileProject(root);
const node = (name: string) => manifest.nodes.find((n) => n.name === name)!;

describe("the jaffle fixture, compiled", () => {
  it("names relations by the project's generate_schema_name: seeds in raw, a custom schema as main_<schema>", () => {
    const built = manifest.nodes.filter((n) => n.resourceType !== "test" && n.resourceType !== "unit_test");
    const relations = Object.fromEntries(built.map((n) => [n.uniqueId, n.relation]));
    expect(relations).toEqual({
      "seed.jaffle.raw_customers": "raw__raw_customers",
      "seed.jaffle.raw_orders": "raw__raw_orders",
      "seed.jaffle.raw_items": "raw__raw_items",
      "seed.jaffle.raw_products": "raw__raw_products",
      "model.jaffle.stg_customers": "stg_customers",
      "model.jaffle.stg_orders": "stg_orders",
      "model.jaffle.stg_items": "stg_items",
      "model.jaffle.stg_products": "stg_products",
      "model.jaffle.order_items": "order_items",
      "model.jaffle.orders": "orders",
      "model.jaffle.customers": "customers",
      "model.jaffle.order_statuses": "order_statuses",
      "model.jaffle.order_log": "order_log",
      "model.jaffle.orders_by_year": "orders_by_year",
      "model.jaffle.daily_revenue": "main_finance__daily_revenue",
    });
    expect(node("raw_orders")).toMatchObject({ schema: "raw", alias: "raw_orders" });
    expect(node("daily_revenue")).toMatchObject({ schema: "main_finance", alias: "daily_revenue" });
    // Sources declared with `schema: raw` meet the seeds.
    expect(manifest.sources.map((s) => [s.uniqueId, s.relation])).toEqual([
      ["source.jaffle.shop.raw_customers", "raw__raw_customers"],
      ["source.jaffle.shop.raw_orders", "raw__raw_orders"],
      ["source.jaffle.shop.raw_items", "raw__raw_items"],
      ["source.jaffle.shop.raw_products", "raw__raw_products"],
    ]);
    // A model reading a seed's table through a source runs after the seed.
    const order = manifest.nodes.map((n) => n.uniqueId);
    for (const table of ["customers", "orders", "items", "products"])
      expect(order.indexOf(`seed.jaffle.raw_${table}`)).toBeLessThan(order.indexOf(`model.jaffle.stg_${table}`));
  });

  it("disables the seeds unless the run's vars set load_source_data", async () => {
    const seeds = (m: typeof manifest) => m.nodes.filter((n) => n.resourceType === "seed").map((n) => [n.name, n.config.enabled]);
    expect(seeds(manifest)).toEqual([
      ["raw_customers", false],
      ["raw_products", false],
      ["raw_orders", false],
      ["raw_items", false],
    ]);
    const loading = await compileManifest(await readProjectFiles(root), { vars: { load_source_data: true } });
    expect(seeds(loading)).toEqual([
      ["raw_customers", true],
      ["raw_products", true],
      ["raw_orders", true],
      ["raw_items", true],
    ]);
    expect(node("stg_orders").config.enabled).toBe(true);
  });

  it("keeps the project's and the package's macros, and the project's dispatch config", () => {
    expect(manifest.macros.map((m) => `${m.package}:${m.path}`)).toEqual([
      "jaffle:macros/cents_to_dollars.sql",
      "jaffle:macros/generate_schema_name.sql",
      "jaffle:macros/labelled_case.sql",
      "jaffle:macros/shop_utils_overrides.sql",
      "jaffle:tests/generic/is_positive.sql",
      "shop_utils:dbt_packages/shop_utils/macros/generic_tests/accepted_range.sql",
      "shop_utils:dbt_packages/shop_utils/macros/generic_tests/expression_is_true.sql",
      "shop_utils:dbt_packages/shop_utils/macros/sql/get_column_values.sql",
      "shop_utils:dbt_packages/shop_utils/macros/sql/star.sql",
      "shop_utils:dbt_packages/shop_utils/macros/sql/surrogate_key.sql",
    ]);
    expect(manifest.dispatch).toEqual([{ macro_namespace: "shop_utils", search_order: ["jaffle", "shop_utils"] }]);
    expect(manifest.packageVars).toEqual({ shop_utils: { shop_utils_null_text: "_shop_utils_null_" } });
  });

  it("lists the exposure and the metric as parsed, not run", () => {
    expect(manifest.parsedNotRun).toEqual([
      { path: "models/marts/exposures.yml", line: 4, what: "exposure weekly_sales_review" },
      { path: "models/marts/exposures.yml", line: 18, what: "metric revenue" },
    ]);
  });

  it("renders dispatch, namespaces, refs beside a CTE of the same name, and introspection that waits for a database", async () => {
    const stgOrders = await compileNode(manifest, node("stg_orders"));
    // sqlite__cents_to_dollars, not default__; dbt.date_trunc for sqlite; the source by its raw relation.
    expect(stgOrders).toContain("round((subtotal + tax_paid) * 1.0 / 100.0, 2) as order_total");
    expect(stgOrders).toContain('select * from main."raw__raw_orders"');
    const orders = await compileNode(manifest, node("orders"));
    // The project's sqlite__surrogate_key wins over shop_utils' default__ (which joins with '-').
    const key = "(coalesce(CAST(orders.order_id AS TEXT), '') || '|' || coalesce(CAST(orders.customer_id AS TEXT), ''))";
    expect(orders).toContain(`case when (${key}) is not null then lower(hex(CAST(${key} AS TEXT))) end as order_key`);
    // Compiling has no database: star() stands for *, get_column_values() for its default (no columns).
    expect(orders).toContain('select *\n    from main."stg_orders"');
    expect(orders).not.toContain("_items,");
    expect(await compileNode(manifest, node("customers"))).toContain('orders as (\n\n    select * from main."orders"\n\n)');
  });
});
