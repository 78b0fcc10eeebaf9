/**
 * dbt's test configs on real local D1: where, severity, warn_if/error_if, limit, store_failures
 * (and store_failures_as), project-level data_tests: configs, and singular tests that end in a
 * comment. The project: a seed of 8 orders, 3 of them without an amount (2 placed, 1 shipped).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { CompileError, compileManifest, type ProjectFiles } from "../../src/models/compile/index.ts";
import { runModels } from "../../src/models/runner.ts";
import { rows } from "../support/pipeline.ts";

const runtime = () => createRuntime(env, "scheduled");

const ordersCsv = `id,status,amount
1,placed,
2,placed,
3,shipped,
4,placed,10
5,shipped,20
6,shipped,30
7,returned,40
8,returned,50
`;

function files(properties: string, extra: Partial<ProjectFiles> = {}): ProjectFiles {
  return {
    project: "cfg",
    seeds: [{ path: "seeds/raw_orders.csv", csv: ordersCsv }],
    models: [{ path: "models/orders.sql", sql: "{{ config(materialized='table') }}\nselect * from {{ ref('raw_orders') }}" }],
    properties: [{ path: "models/schema.yml", yaml: properties }],
    sources: {},
    ...extra,
  };
}

/** A properties file with the given test entries on orders.amount. */
const onAmount = (...tests: string[]) =>
  `version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        data_tests:\n${tests.map((t) => `          - ${t}`).join("\n")}\n`;

async function build(projectFiles: ProjectFiles) {
  const manifest = await compileManifest(projectFiles);
  const summary = await runModels(runtime(), { trigger: "manual", manifest });
  const tests = summary.results.filter((r) => r.resourceType === "test");
  return { manifest, summary, tests };
}

describe("test configs", () => {
  it("where: counts only the rows of the tested relation that match it", async () => {
    const { tests } = await build(files(onAmount(`not_null:\n              config:\n                where: "status = 'placed'"`)));
    expect(tests).toMatchObject([{ status: "fail", failures: 2, message: "Got 2 results, configured to fail if !=0" }]);
  });

  it("where: a where ending in a -- comment still counts", async () => {
    const { tests } = await build(files(onAmount(`not_null:\n              where: "status = 'shipped' -- only shipped"`)));
    expect(tests).toMatchObject([{ status: "fail", failures: 1 }]);
  });

  it.each([
    ["warn_if: '>2'", "error_if: '>5'", "warn", "Got 3 results, configured to warn if >2"],
    ["warn_if: '>2'", "error_if: '>=3'", "fail", "Got 3 results, configured to fail if >=3"],
    ["warn_if: '>10'", "error_if: '>10'", "pass", null],
    ["warn_if: '!=0'", "error_if: '<>3'", "warn", "Got 3 results, configured to warn if !=0"],
  ])("%s and %s on 3 failures give %s", async (warnIf, errorIf, status, message) => {
    const { tests } = await build(
      files(onAmount(`not_null:\n              config:\n                ${warnIf}\n                ${errorIf}`)),
    );
    expect(tests).toMatchObject([{ status, failures: 3, message }]);
  });

  it("severity warn ignores error_if, at the top level and in config (in capitals too)", async () => {
    const { tests } = await build(
      files(
        onAmount(
          `not_null:\n              severity: warn`,
          `unique:\n              config:\n                severity: WARN\n                error_if: ">0"`,
        ),
        {
          seeds: [{ path: "seeds/raw_orders.csv", csv: `${ordersCsv}9,placed,50\n` }],
        },
      ),
    );
    expect(tests.map((t) => [t.uniqueId.split(".")[2], t.status, t.failures])).toEqual([
      ["not_null_orders_amount", "warn", 3],
      ["unique_orders_amount", "warn", 1],
    ]);
  });

  it("limit: counts at most that many failing rows", async () => {
    const { tests } = await build(files(onAmount(`not_null:\n              limit: 2`)));
    expect(tests).toMatchObject([{ status: "fail", failures: 2 }]);
  });

  it("store_failures: keeps every failing row in the audit relation the result names, even past the limit", async () => {
    const { tests, summary } = await build(
      files(onAmount(`not_null:\n              config:\n                store_failures: true\n                limit: 1`)),
    );
    expect(tests).toMatchObject([{ status: "fail", failures: 1, relationName: "main_dbt_test__audit__not_null_orders_amount" }]);
    expect(await rows("SELECT id, status FROM main_dbt_test__audit__not_null_orders_amount ORDER BY id")).toEqual([
      { id: 1, status: "placed" },
      { id: 2, status: "placed" },
      { id: 3, status: "shipped" },
    ]);
    expect(
      await rows("SELECT relation_name FROM _sluice_model_results WHERE run_id = ?1 AND resource_type = 'test'", summary.runId),
    ).toEqual([{ relation_name: "main_dbt_test__audit__not_null_orders_amount" }]);
  });

  it("store_failures_as: view keeps a view, under the test's schema; a passing test stores an empty relation", async () => {
    const { tests } = await build(
      files(onAmount(`unique:\n              config:\n                store_failures_as: view\n                schema: audit`)),
    );
    expect(tests).toMatchObject([{ status: "pass", failures: 0, relationName: "main_audit__unique_orders_amount" }]);
    expect(await rows("SELECT type FROM sqlite_master WHERE name = 'main_audit__unique_orders_amount'")).toEqual([{ type: "view" }]);
    expect(await rows("SELECT count(*) AS n FROM main_audit__unique_orders_amount")).toEqual([{ n: 0 }]);
  });

  it("store_failures_as: ephemeral stores nothing, even with store_failures", async () => {
    const { tests } = await build(
      files(
        onAmount(`not_null:\n              config:\n                store_failures: true\n                store_failures_as: ephemeral`),
      ),
    );
    expect(tests).toMatchObject([{ status: "fail", failures: 3, relationName: null }]);
  });

  it("project-level data_tests: (and legacy tests:) configs reach generic and singular tests, which override them", async () => {
    const projectYaml = `name: cfg
data_tests:
  cfg:
    +severity: warn
    +store_failures: true
tests:
  cfg:
    +where: "status != 'shipped'"
`;
    const { tests, manifest } = await build(
      files(onAmount("not_null", `unique:\n              severity: error`), {
        projectYaml,
        tests: [{ path: "tests/no_returns.sql", sql: "select * from {{ ref('orders') }} where status = 'returned' -- a trailing comment" }],
      }),
    );
    const byName = Object.fromEntries(tests.map((t) => [t.uniqueId.split(".")[2], t]));
    // The where drops the shipped order without an amount: 2 of 3 remain.
    expect(byName.not_null_orders_amount).toMatchObject({
      status: "warn",
      failures: 2,
      relationName: "main_dbt_test__audit__not_null_orders_amount",
    });
    expect(byName.unique_orders_amount).toMatchObject({ status: "pass", failures: 0 });
    // A singular test ending in a `--` comment runs, warns, and stores its rows.
    expect(byName.no_returns).toMatchObject({ status: "warn", failures: 2, relationName: "main_dbt_test__audit__no_returns" });
    expect(await rows("SELECT id FROM main_dbt_test__audit__no_returns ORDER BY id")).toEqual([{ id: 7 }, { id: 8 }]);
    expect(manifest.nodes.find((n) => n.name === "unique_orders_amount")!.config).toMatchObject({
      severity: "error",
      store_failures: true,
    });
  });
});

describe("test configs: bad input", () => {
  it.each([
    ["limit: 0", `not_null:\n              limit: 0`, "models/schema.yml: invalid config: limit: Too small: expected number to be >0"],
    [
      "store_failures_as: parquet",
      `not_null:\n              store_failures_as: parquet`,
      'models/schema.yml: invalid config: store_failures_as: Invalid option: expected one of "table"|"view"|"ephemeral"',
    ],
    [
      "error_if: > ten",
      `not_null:\n              config:\n                error_if: "> ten"`,
      'models/schema.yml:9: error_if: expected a comparison with a number, such as ">10" or "!=0", got "> ten"',
    ],
    [
      "severity: fatal",
      `not_null:\n              severity: fatal`,
      'models/schema.yml: invalid config: severity: Invalid option: expected one of "error"|"warn"',
    ],
  ])("%s fails the build", async (_, entry, message) => {
    await expect(() => compileManifest(files(onAmount(entry)))).rejects.toThrow(new CompileError(message));
  });
});
