/**
 * dbt's selection methods through real runs on local D1: fqn:, file:, test_type:, bare paths and
 * files, result: (against earlier runs' results), state: (against the previous deploy's
 * manifest), and selectors.yml (`selector`, the default selector, over the HTTP API too). Each
 * case asserts exactly the unique ids the run built.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { compileManifest, type ProjectFiles } from "../../src/models/compile/index.ts";
import type { Manifest } from "../../src/models/manifest-schema.ts";
import { type RunOptions, runModels } from "../../src/models/runner.ts";
import { adminToken } from "../support/fixtures.ts";
import { call, origin } from "../support/worker.ts";

const runtime = () => createRuntime(env, "scheduled");

const selectorsYaml = `selectors:
  - name: marts_without_tests
    definition:
      method: path
      value: models/marts
      indirect_selection: empty
  - name: staging_down_but_big
    default: true
    definition:
      union:
        - method: fqn
          value: staging
          children: true
        - exclude:
            - "big_orders"
  - name: orders_cautious
    definition: {method: fqn, value: orders, indirect_selection: cautious}
  - name: generic_on_orders
    definition:
      intersection:
        - test_type: generic
        - method: selector
          value: orders_cautious
`;

function files(changes: { orders?: string; ordersConfig?: string; extraModel?: boolean } = {}): ProjectFiles {
  return {
    project: "sel",
    seeds: [{ path: "seeds/raw_orders.csv", csv: "id,amount\n1,5\n2,20\n2,30\n" }],
    models: [
      { path: "models/staging/stg_orders.sql", sql: "select * from {{ ref('raw_orders') }}" },
      {
        path: "models/marts/orders.sql",
        sql: `{{ config(materialized='${changes.ordersConfig ?? "table"}') }}\n${changes.orders ?? "select * from {{ ref('stg_orders') }}"}`,
      },
      { path: "models/marts/big_orders.sql", sql: "select * from {{ ref('orders') }} where amount > 10" },
      ...(changes.extraModel
        ? [{ path: "models/marts/small_orders.sql", sql: "select * from {{ ref('orders') }} where amount <= 10" }]
        : []),
    ],
    tests: [{ path: "tests/assert_no_negative.sql", sql: "select * from {{ ref('orders') }} where amount < 0" }],
    properties: [
      {
        path: "models/schema.yml",
        yaml: `version: 2
models:
  - name: orders
    columns:
      - name: id
        data_tests: [unique]
  - name: stg_orders
    columns:
      - name: id
        data_tests: [not_null]
`,
      },
    ],
    selectors: { path: "selectors.yml", yaml: selectorsYaml },
    sources: {},
  };
}

const ids = (manifest: Manifest) => {
  const byName = new Map(manifest.nodes.map((n) => [n.name, n.uniqueId]));
  return (...names: string[]) => names.map((name) => byName.get(name) ?? name).sort();
};

async function built(manifest: Manifest, options: Partial<RunOptions> = {}): Promise<string[]> {
  const summary = await runModels(runtime(), { trigger: "manual", manifest, ...options });
  return summary.results.map((r) => r.uniqueId).sort();
}

const compiled = await compileManifest(files());

describe("selection methods on real runs", () => {
  const manifest = compiled;
  const id = ids(manifest);

  it.each([
    ["fqn:sel.marts", ["orders", "big_orders", "unique_orders_id", "assert_no_negative"]],
    ["fqn:staging", ["stg_orders", "not_null_stg_orders_id"]],
    ["fqn:marts.big_*", ["big_orders"]],
    ["file:orders.sql", ["orders", "unique_orders_id", "assert_no_negative"]],
    ["file:schema.yml", ["unique_orders_id", "not_null_stg_orders_id"]],
    ["file:assert_no_negative", ["assert_no_negative"]],
    ["test_type:generic", ["unique_orders_id", "not_null_stg_orders_id"]],
    ["test_type:singular", ["assert_no_negative"]],
    ["test_type:unit", []],
    ["models/marts", ["orders", "big_orders", "unique_orders_id", "assert_no_negative"]],
    ["models/staging/", ["stg_orders", "not_null_stg_orders_id"]],
    ["big_orders.sql", ["big_orders"]],
    ["marts", ["orders", "big_orders", "unique_orders_id", "assert_no_negative"]],
  ])("%s selects exactly its nodes", async (select, names) => {
    expect(await built(manifest, { select: [select] })).toEqual(id(...names));
  });

  it.each([
    ["marts_without_tests", ["orders", "big_orders"]],
    ["staging_down_but_big", ["stg_orders", "not_null_stg_orders_id", "orders", "unique_orders_id", "assert_no_negative"]],
    ["orders_cautious", ["orders", "unique_orders_id", "assert_no_negative"]],
    ["generic_on_orders", ["unique_orders_id"]],
  ])("selector %s selects exactly its nodes", async (selector, names) => {
    expect(await built(manifest, { selector })).toEqual(id(...names));
  });

  it("a run with nothing selected uses the default selector; one with only an exclude does not", async () => {
    expect(await built(manifest)).toEqual(id("stg_orders", "not_null_stg_orders_id", "orders", "unique_orders_id", "assert_no_negative"));
    expect(await built(manifest, { exclude: ["big_orders"] })).toEqual(
      id("raw_orders", "stg_orders", "not_null_stg_orders_id", "orders", "unique_orders_id", "assert_no_negative"),
    );
  });

  it("result: selects by each node's latest result in an earlier run", async () => {
    // Order id 2 appears twice: unique_orders_id fails, and big_orders is skipped behind it.
    await built(manifest, { select: ["+big_orders"] });
    expect(await built(manifest, { select: ["result:fail"] })).toEqual(id("unique_orders_id"));
    // big_orders alone builds, so its latest result is now a success.
    expect(await built(manifest, { select: ["result:skipped"] })).toEqual(id("big_orders"));
    expect(await built(manifest, { select: ["result:skipped"] })).toEqual([]);
    expect(await built(manifest, { select: ["result:success,resource_type:model"], exclude: ["resource_type:test"] })).toEqual(
      id("stg_orders", "orders", "big_orders"),
    );
  });

  it("state: compares with the manifest of the previous deploy", async () => {
    const before = await compileManifest(files());
    await built(before, { select: ["stg_orders"] });
    const after = await compileManifest(files({ orders: "select id, amount from {{ ref('stg_orders') }}", extraModel: true }));
    const next = ids(after);
    expect(await built(after, { select: ["state:new"] })).toEqual(next("small_orders"));
    expect(await built(after, { select: ["state:modified"], exclude: ["resource_type:test"] })).toEqual(next("orders", "small_orders"));
    expect(await built(after, { select: ["state:modified.body"], exclude: ["resource_type:test"] })).toEqual(next("orders"));
    expect(await built(after, { select: ["state:modified.configs"] })).toEqual([]);
    // A later deploy compares with the one before it, not with the first.
    const third = await compileManifest(
      files({ orders: "select id, amount from {{ ref('stg_orders') }}", extraModel: true, ordersConfig: "view" }),
    );
    expect(await built(third, { select: ["state:modified.configs"] })).toEqual(
      ids(third)("orders", "unique_orders_id", "assert_no_negative"),
    );
  });
});

describe("selection: bad input", () => {
  const manifest = compiled;
  it.each([
    [
      { selector: "nope" },
      'unknown selector "nope"; selectors.yml defines marts_without_tests, staging_down_but_big, orders_cautious, generic_on_orders',
    ],
    [{ selector: "orders_cautious", select: ["orders"] }, "give select and exclude, or a selector, not both"],
    [{ select: ["test_type:data_quality"] }, 'selector "test_type:data_quality": test type must be one of generic, singular, unit'],
    [{ select: ["result:passed"] }, 'selector "result:passed": result must be one of success, error, skipped, pass, fail, warn'],
    [
      { select: ["state:changed"] },
      'selector "state:changed": state must be one of new, old, modified, unmodified, modified.body, modified.configs, modified.relation',
    ],
  ] as [Partial<RunOptions>, string][])("%o is a bad request", async (options, message) => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM _sluice_model_runs").first("n");
    await expect(runModels(runtime(), { trigger: "manual", manifest, ...options })).rejects.toMatchObject({ code: "bad_request", message });
    // Refused before the run is recorded.
    expect(await env.DB.prepare("SELECT count(*) AS n FROM _sluice_model_runs").first("n")).toBe(before);
  });

  it("POST /v1/models/build takes a selector, and names an unknown one", async () => {
    const response = await call(
      new Request(`${origin}/v1/models/build`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ selector: "nightly" }),
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: "bad_request",
        message: 'unknown selector "nightly"; the project has no selectors.yml',
        requestId: expect.any(String),
      },
    });
  });
});
