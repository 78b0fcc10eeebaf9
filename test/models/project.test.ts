import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { compileNode } from "../../src/models/compile-node.ts";
import { runModels } from "../../src/models/runner.ts";
import { shopFiles, shopManifest } from "../support/fixture-project.ts";
import { rows } from "../support/pipeline.ts";

const runtime = () => createRuntime(env, "scheduled");

const parsed = await shopManifest();

describe("the fixture dbt project: parse", () => {
  const manifest = parsed;
  const node = (name: string) => manifest.nodes.find((n) => n.name === name)!;

  it("reads seeds, models, YAML tests, singular tests and docs", async () => {
    const ids = manifest.nodes.map((n) => n.uniqueId);
    expect(ids).toEqual(
      expect.arrayContaining([
        "seed.shop.raw_customers",
        "model.shop.stg_orders",
        "model.shop.customers",
        "test.shop.assert_payments_are_positive",
        "test.shop.unique_customers_customer_id.c5af1ff4b1",
        "test.shop.relationships_orders_customer_id__customer_id__ref_customers_.c6ec7f58f2",
        "test.shop.accepted_values_orders_status__placed__shipped__completed__return_pending__returned.be6b5b5ec3",
      ]),
    );
    expect(node("raw_customers").seed!.columns).toEqual([
      { name: "id", type: "integer" },
      { name: "first_name", type: "text" },
      { name: "last_name", type: "text" },
    ]);
    // CRLF line endings leave no stray carriage returns.
    expect(node("raw_customers").seed!.rows[4]).toEqual([5, "Katherine", "R."]);
    expect(node("customers").description).toBe('{{ doc("customers") }}');
    expect(manifest.docs.customers).toBe("One record per customer, with their order history and lifetime value.");
  });

  it("merges configs with dbt's precedence: folders nest, tags add up, config() wins", async () => {
    expect(node("stg_orders").config).toMatchObject({ materialized: "view", tags: ["shop", "staging"] });
    expect(node("stg_payments").config.tags).toEqual(["shop", "staging", "payments"]);
    expect(node("customers").config.materialized).toBe("table");
    expect(node("completed_orders").config.materialized).toBe("ephemeral");
    // Properties YAML sits between the project file and config().
    expect(node("order_events").config).toMatchObject({
      materialized: "incremental",
      unique_key: "order_id",
      on_schema_change: "append_new_columns",
    });
    expect(manifest.nodes.find((n) => n.name === "not_null_orders_amount")!.config.severity).toBe("warn");
  });

  it("orders the build so tests run before what is built on the models they test", async () => {
    const order = manifest.nodes.map((n) => n.uniqueId);
    const comesBefore = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
    comesBefore("seed.shop.raw_orders", "model.shop.stg_orders");
    comesBefore("test.shop.unique_orders_order_id.fed79b3a6e", "model.shop.completed_by_customer");
    comesBefore("model.shop.customers", "test.shop.relationships_orders_customer_id__customer_id__ref_customers_.c6ec7f58f2");
  });

  it("renders Jinja loops, vars, is_incremental and ephemeral CTEs (golden SQL)", async () => {
    expect(await compileNode(manifest, node("orders"))).toContain(
      `sum(case when payment_method = 'credit_card' then amount else 0 end) as credit_card_amount,
        sum(case when payment_method = 'coupon' then amount else 0 end) as coupon_amount,
        sum(case when payment_method = 'bank_transfer' then amount else 0 end) as bank_transfer_amount,
        sum(case when payment_method = 'gift_card' then amount else 0 end) as gift_card_amount,
        sum(amount) as total_amount`,
    );
    expect(await compileNode(manifest, node("completed_by_customer"))).toBe(
      `with __dbt__cte__completed_orders as (
select order_id, customer_id, amount from main."orders" where status = 'completed'
),
counts as (
    select customer_id, count(*) as completed_orders, sum(amount) as completed_amount
    from __dbt__cte__completed_orders
    group by customer_id
)
select * from counts`,
    );
    const incremental = await compileNode(manifest, node("order_events"), { isIncremental: true });
    expect(incremental).toContain(`where order_date >= (select max(order_date) from "order_events")`);
    expect(await compileNode(manifest, node("order_events"))).not.toContain("where order_date");
  });

  it.each([
    [
      "a missing ref",
      { models: [{ path: "models/x.sql", sql: "select 1\nfrom {{ ref('nope') }}" }] },
      "models/x.sql:2: ref('nope') names no model, seed or snapshot",
    ],
    [
      "a cycle",
      {
        models: [
          { path: "models/a.sql", sql: "select * from {{ ref('b') }}" },
          { path: "models/b.sql", sql: "select * from {{ ref('a') }}" },
        ],
      },
      "dependency cycle: a -> b -> a",
    ],
    ["invalid YAML", { properties: [{ path: "models/bad.yml", yaml: "models:\n  - name: [oops" }] }, /^models\/bad\.yml: invalid YAML: /],
    [
      "an unknown config key in the project file",
      { projectYaml: "name: shop\nmodels:\n  shop:\n    +materialised: table\n" },
      'unknown config key "+materialised"',
    ],
    [
      "an unknown test",
      {
        properties: [
          {
            path: "models/t.yml",
            yaml: "models:\n  - name: customers\n    columns:\n      - name: customer_id\n        tests: [is_even]\n",
          },
        ],
      },
      'models/t.yml: unknown test "is_even": no {% test is_even(…) %} in the project\'s macros or tests',
    ],
  ])("fails the build on %s", async (_, override, message) => {
    const files = shopFiles();
    const merged = {
      ...files,
      ...override,
      models: [...files.models, ...((override as { models?: typeof files.models }).models ?? [])],
      properties: [...(files.properties ?? []), ...((override as { properties?: typeof files.properties }).properties ?? [])],
    };
    await expect(() => shopManifest(merged)).rejects.toThrow(message);
  });
});

describe("the fixture dbt project: build", () => {
  it("builds seeds, views, tables, incremental and ephemeral models, and runs the tests", async () => {
    const summary = await runModels(runtime(), { trigger: "manual", manifest: await shopManifest() });
    const byId = Object.fromEntries(summary.results.map((r) => [r.uniqueId, r]));
    expect(summary.status).toBe("success");
    expect(byId["seed.shop.raw_payments"]).toMatchObject({ status: "success", rowsAffected: 9 });
    expect(byId["test.shop.unique_customers_customer_id.c5af1ff4b1"]).toMatchObject({ status: "pass", failures: 0 });
    expect(byId["test.shop.relationships_orders_customer_id__customer_id__ref_customers_.c6ec7f58f2"]).toMatchObject({ status: "pass" });
    expect(byId["test.shop.assert_payments_are_positive"]).toMatchObject({ status: "pass" });
    expect(byId["model.shop.completed_orders"]).toBeUndefined(); // ephemeral: never built

    expect(await rows("SELECT * FROM customers ORDER BY customer_id")).toEqual([
      {
        customer_id: 1,
        first_name: "Michael",
        last_name: "P.",
        first_order: "2018-01-01",
        most_recent_order: "2018-01-09",
        number_of_orders: 3,
        customer_lifetime_value: 56,
      },
      {
        customer_id: 2,
        first_name: "Shawn",
        last_name: "M.",
        first_order: "2018-01-05",
        most_recent_order: "2018-01-05",
        number_of_orders: 1,
        customer_lifetime_value: 25,
      },
      {
        customer_id: 3,
        first_name: "Kathleen",
        last_name: "P.",
        first_order: "2018-01-02",
        most_recent_order: "2018-01-05",
        number_of_orders: 2,
        customer_lifetime_value: 37,
      },
      {
        customer_id: 4,
        first_name: "Jimmy",
        last_name: "C.",
        first_order: "2018-01-07",
        most_recent_order: "2018-01-07",
        number_of_orders: 1,
        customer_lifetime_value: 6,
      },
      {
        customer_id: 5,
        first_name: "Katherine",
        last_name: "R.",
        first_order: "2018-01-11",
        most_recent_order: "2018-01-11",
        number_of_orders: 1,
        customer_lifetime_value: 23,
      },
    ]);
    expect(await rows("SELECT order_id, coupon_amount, gift_card_amount, amount FROM orders WHERE order_id = 3")).toEqual([
      { order_id: 3, coupon_amount: 1, gift_card_amount: 29, amount: 30 },
    ]);
    expect(await rows("SELECT * FROM completed_by_customer ORDER BY customer_id")).toEqual([
      { customer_id: 1, completed_orders: 1, completed_amount: 30 },
      { customer_id: 2, completed_orders: 1, completed_amount: 25 },
      { customer_id: 3, completed_orders: 2, completed_amount: 37 },
    ]);
    expect(await rows("SELECT type FROM sqlite_master WHERE name = 'stg_orders'")).toEqual([{ type: "view" }]);
    expect(await rows("SELECT count(*) AS n FROM order_events")).toEqual([{ n: 8 }]);
    const stored = await rows(
      "SELECT unique_id, resource_type, status, failures FROM _sluice_model_results WHERE run_id = ?1 AND resource_type = 'test' ORDER BY unique_id LIMIT 2",
      summary.runId,
    );
    expect(stored).toEqual([
      {
        unique_id: "test.shop.accepted_values_orders_status__placed__shipped__completed__return_pending__returned.be6b5b5ec3",
        resource_type: "test",
        status: "pass",
        failures: 0,
      },
      { unique_id: "test.shop.assert_payments_are_positive", resource_type: "test", status: "pass", failures: 0 },
    ]);
  });

  it("skips what is built on a model whose error-severity test fails, and warns for a warn-severity one", async () => {
    const files = shopFiles();
    // Order 9 belongs to no customer and has no payment: the relationships test fails (error),
    // and its amount is NULL (the not_null test warns).
    const seeds = files.seeds!.map((s) => (s.path.endsWith("raw_orders.csv") ? { ...s, csv: `${s.csv}9,99,2018-01-12,placed\n` } : s));
    const summary = await runModels(runtime(), { trigger: "manual", manifest: await shopManifest({ seeds }) });
    const byId = Object.fromEntries(summary.results.map((r) => [r.uniqueId, r]));
    expect(byId["test.shop.relationships_orders_customer_id__customer_id__ref_customers_.c6ec7f58f2"]).toMatchObject({
      status: "fail",
      failures: 1,
      message: "Got 1 result, configured to fail if !=0",
    });
    expect(byId["test.shop.not_null_orders_amount.106140f9fd"]).toMatchObject({ status: "warn", failures: 1 });
    // As in dbt, a test of orders and customers holds back only what is built on both: customers
    // is not upstream of completed_by_customer, which builds.
    expect(byId["model.shop.completed_by_customer"]).toMatchObject({ status: "success" });
    expect(byId["model.shop.customers"]).toMatchObject({ status: "success" });
    expect(summary.status).toBe("error");

    // A duplicate order id fails unique_orders_order_id, a test of orders alone: what is built on orders is skipped.
    const duplicate = files.seeds!.map((s) => (s.path.endsWith("raw_orders.csv") ? { ...s, csv: `${s.csv}1,1,2018-01-01,returned\n` } : s));
    const second = await runModels(runtime(), { trigger: "manual", manifest: await shopManifest({ seeds: duplicate }) });
    const secondById = Object.fromEntries(second.results.map((r) => [r.uniqueId, r]));
    expect(secondById["test.shop.unique_orders_order_id.fed79b3a6e"]).toMatchObject({ status: "fail", failures: 1 });
    expect(secondById["model.shop.completed_by_customer"]).toMatchObject({
      status: "skipped",
      message: "skipped: upstream model.shop.orders failed a test",
    });
  });

  it("builds only the selection, with the tests of the selected models", async () => {
    const summary = await runModels(runtime(), {
      trigger: "manual",
      manifest: await shopManifest(),
      select: ["+customers"],
      exclude: ["tag:payments"],
    });
    const ids = summary.results.map((r) => r.uniqueId);
    expect(ids).toContain("model.shop.customers");
    expect(ids).toContain("test.shop.unique_customers_customer_id.c5af1ff4b1");
    expect(ids).not.toContain("model.shop.orders");
    // Excluding stg_payments skips customers, which is built on it.
    expect(summary.results.find((r) => r.uniqueId === "model.shop.stg_payments")).toBeUndefined();
  });
});

describe("a run that outlives its invocation", () => {
  it("continues in the next invocation without redoing finished nodes, and completes", async () => {
    const { CapturedQueue } = await import("../support/pump.ts");
    const ingest = new CapturedQueue();
    const rt = createRuntime({ ...env, INGEST: ingest as unknown as Queue } as Env, "scheduled");
    const manifest = await shopManifest();

    // A budget of 0 ms: every invocation does one node, then hands the run on.
    let summary = await runModels(rt, { trigger: "manual", manifest, budgetMs: 0 });
    const runId = summary.runId;
    let invocations = 1;
    while (!summary.finished) {
      const [message] = ingest.take() as { kind: string; runId: string }[];
      expect(message).toEqual({ v: 1, kind: "model_run", runId });
      summary = await runModels(rt, { trigger: "cron", manifest, resumeRunId: runId, budgetMs: 0 });
      invocations += 1;
    }
    const built = manifest.nodes.filter((n) => n.config.materialized !== "ephemeral").length;
    expect(invocations).toBe(built);
    expect(summary.status).toBe("success");
    expect(summary.results).toHaveLength(built);
    const stored = await rows<{ n: number; d: number }>(
      "SELECT count(*) AS n, count(DISTINCT unique_id) AS d FROM _sluice_model_results WHERE run_id = ?1",
      runId,
    );
    expect(stored).toEqual([{ n: built, d: built }]);
    expect(await rows("SELECT status FROM _sluice_model_runs WHERE run_id = ?1", runId)).toEqual([{ status: "success" }]);

    // A stray continuation of a finished run does nothing.
    const again = await runModels(rt, { trigger: "cron", manifest, resumeRunId: runId });
    expect(again.results).toEqual([]);
  });
});
