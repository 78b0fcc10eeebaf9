/**
 * test/fixtures/packaged built on the real local D1: the shop_metrics package's seed, model and
 * properties tests run beside the project's own model, which reads the package's model through
 * `ref('shop_metrics', 'order_totals')`; the model the project disables is not built, and the
 * warehouse_monitor package, whose model does not compile on Sluice, does not stop the build.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { RunSummary } from "../../src/models/runner.ts";
import { packagedManifest } from "../support/fixture-project.ts";
import { buildManifest, exec, rows } from "../support/pipeline.ts";

beforeEach(async () => {
  for (const table of ["revenue_report", "shop_order_totals", "line_counts", "order_lines", "legacy_totals", "monitor_runs"])
    await exec(`DROP TABLE IF EXISTS ${table}`);
});

const statuses = (summary: RunSummary) => Object.fromEntries(summary.results.map((r) => [r.uniqueId, r.status]));
const tables = async () =>
  (await rows<{ name: string }>("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")).map((t) => t.name);

describe("a project with installed packages, built", () => {
  it("builds the package's seed and model and runs its tests; the project's model reads them", async () => {
    const summary = await buildManifest(packagedManifest());
    expect(summary.status).toBe("success");
    expect(statuses(summary)).toEqual({
      "seed.shop_metrics.order_lines": "success",
      "test.shop_metrics.unique_order_lines_line_id.3c9cba7a68": "pass",
      "model.shop_metrics.order_totals": "success",
      "test.shop_metrics.unique_order_totals_order_id.43cc207b9f": "pass",
      "test.shop_metrics.not_null_order_totals_order_id.c778cb1cea": "pass",
      "test.shop_metrics.not_null_order_totals_gross.7d9bb1538b": "pass",
      "model.shop_metrics.line_counts": "success",
      "model.storefront.revenue_report": "success",
    });
    // A package model reading the package's own source (declared in its YAML), after the seed that fills it.
    expect(await rows("SELECT order_id, line_count FROM line_counts ORDER BY order_id")).toEqual([
      { order_id: 1, line_count: 2 },
      { order_id: 2, line_count: 1 },
    ]);
    // Gross with the project's VAT rate for the package (0.1, not the package's own 0.2).
    expect(await rows("SELECT * FROM revenue_report ORDER BY order_id")).toEqual([
      { order_id: 1, gross: 16.5, line_count: 2 },
      { order_id: 2, gross: 22, line_count: 1 },
    ]);
    // The package's model is a table under its alias (the project's `+materialized: table` over the package's view).
    expect(await rows("SELECT type FROM sqlite_master WHERE name = 'shop_order_totals'")).toEqual([{ type: "table" }]);
    // Disabled by the project; the monitor package's model is not run.
    const built = await tables();
    expect(built).not.toContain("legacy_totals");
    expect(built).not.toContain("monitor_runs");
  });

  it("fails the package's properties test when its seed breaks it, and skips what is built on it", async () => {
    const duplicated = "line_id,order_id,amount_cents\n1,1,1000\n1,1,500\n3,2,2000\n";
    const summary = await buildManifest(packagedManifest({}, { "shop_metrics/seeds/order_lines.csv": duplicated }));
    expect(summary.status).toBe("error");
    expect(statuses(summary)).toMatchObject({
      "seed.shop_metrics.order_lines": "success",
      "test.shop_metrics.unique_order_lines_line_id.3c9cba7a68": "fail",
      "model.shop_metrics.order_totals": "skipped",
      "model.storefront.revenue_report": "skipped",
    });
    expect(await rows("SELECT line_id, count(*) AS n FROM order_lines GROUP BY line_id HAVING n > 1")).toEqual([{ line_id: 1, n: 2 }]);
  });
});
