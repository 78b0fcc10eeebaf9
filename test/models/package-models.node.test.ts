/**
 * Installed packages' models, seeds and tests as nodes of the manifest, as dbt makes them:
 * test/fixtures/packaged compiled as `npm run build` compiles it, and small projects written here
 * for dbt's ref rules across packages.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/lib/dev-server.ts";
import { compileProject } from "../../scripts/lib/project.ts";
import { CompileError, compileManifest, type PackageFiles, type ProjectFiles } from "../../src/models/compile/index.ts";
import { compileNode } from "../../src/models/compile-node.ts";

const manifest = await compileProject(join(repoRoot, "test/fixtures/packaged"));
const node = (id: string) => manifest.nodes.find((n) => n.uniqueId === id)!;

describe("an installed package's nodes", () => {
  it("are the package's: unique ids, paths under dbt_packages/, fqn, and the properties tests of its YAML", () => {
    expect(manifest.nodes.map((n) => [n.uniqueId, n.package, n.path, n.dependsOn.nodes])).toEqual([
      ["seed.shop_metrics.order_lines", "shop_metrics", "dbt_packages/shop_metrics/seeds/order_lines.csv", []],
      [
        "test.shop_metrics.unique_order_lines_line_id.3c9cba7a68",
        "shop_metrics",
        "dbt_packages/shop_metrics/models/schema.yml",
        ["seed.shop_metrics.order_lines"],
      ],
      [
        "model.shop_metrics.legacy_totals",
        "shop_metrics",
        "dbt_packages/shop_metrics/models/legacy/legacy_totals.sql",
        ["seed.shop_metrics.order_lines"],
      ],
      // Reads the package's own source; ordered after the seed that fills that source's table.
      ["model.shop_metrics.line_counts", "shop_metrics", "dbt_packages/shop_metrics/models/line_counts.sql", []],
      [
        "model.shop_metrics.order_totals",
        "shop_metrics",
        "dbt_packages/shop_metrics/models/order_totals.sql",
        ["seed.shop_metrics.order_lines"],
      ],
      [
        "test.shop_metrics.unique_order_totals_order_id.43cc207b9f",
        "shop_metrics",
        "dbt_packages/shop_metrics/models/schema.yml",
        ["model.shop_metrics.order_totals"],
      ],
      [
        "test.shop_metrics.not_null_order_totals_order_id.c778cb1cea",
        "shop_metrics",
        "dbt_packages/shop_metrics/models/schema.yml",
        ["model.shop_metrics.order_totals"],
      ],
      [
        "test.shop_metrics.not_null_order_totals_gross.7d9bb1538b",
        "shop_metrics",
        "dbt_packages/shop_metrics/models/schema.yml",
        ["model.shop_metrics.order_totals"],
      ],
      [
        "model.storefront.revenue_report",
        "storefront",
        "models/revenue_report.sql",
        ["seed.shop_metrics.order_lines", "model.shop_metrics.order_totals"],
      ],
    ]);
    expect(node("model.shop_metrics.legacy_totals").fqn).toEqual(["shop_metrics", "legacy", "legacy_totals"]);
  });

  it("layer config as dbt: the package's tree, the root's tree over it, properties YAML, then config()", () => {
    // The package says view, the root project says table; the alias is the properties'; tags add up.
    expect(node("model.shop_metrics.order_totals").config).toMatchObject({
      materialized: "table",
      alias: "shop_order_totals",
      tags: ["shop_metrics", "finance"],
      enabled: true,
    });
    expect(node("model.shop_metrics.order_totals").relation).toBe("shop_order_totals");
    // `models: shop_metrics: legacy: +enabled: false` in the root project.
    expect(node("model.shop_metrics.legacy_totals").config.enabled).toBe(false);
  });

  it("render with the package's macros and vars (the root project's scoped vars over the package's own)", async () => {
    const sql = await compileNode(manifest, node("model.shop_metrics.order_totals"));
    expect(sql).toContain("round((sum(amount_cents) * 1.0 / 100.0) * (1 + 0.1), 2) as gross");
    expect(sql).toContain('from main."order_lines"');
    const report = await compileNode(manifest, node("model.storefront.revenue_report"));
    expect(report).toContain('from main."shop_order_totals" as totals');
  });

  it("a package whose model does not compile is listed as parsed, not run, with the reason; its hooks too", () => {
    expect(manifest.nodes.filter((n) => n.package === "warehouse_monitor")).toEqual([]);
    expect(manifest.parsedNotRun).toEqual([
      {
        path: "dbt_packages/warehouse_monitor/dbt_project.yml",
        what: "package warehouse_monitor: on-run-end hooks, which Sluice does not run",
      },
      {
        path: "dbt_packages/warehouse_monitor/dbt_project.yml",
        what:
          "package warehouse_monitor: 1 item that Sluice does not run (model models/monitor_runs.sql), because " +
          "dbt_packages/warehouse_monitor/models/monitor_runs.sql: invalid config: unknown config key transient; its macros and tests are available",
      },
    ]);
  });
});

const pkg = (folder: string, models: Record<string, string>, projectYaml = `name: ${folder}\n`): PackageFiles => ({
  folder,
  projectYaml,
  models: Object.entries(models).map(([name, sql]) => ({ path: `models/${name}.sql`, sql })),
});
const project = (models: Record<string, string>, installedPackages: PackageFiles[]): ProjectFiles => ({
  projectYaml: "name: app\n",
  models: Object.entries(models).map(([name, sql]) => ({ path: `models/${name}.sql`, sql })),
  installedPackages,
  sources: {},
});
const deps = (compiled: Awaited<ReturnType<typeof compileManifest>>) =>
  Object.fromEntries(compiled.nodes.map((n) => [n.uniqueId, n.dependsOn.nodes]));

describe("ref() across packages", () => {
  const pkga = pkg("pkga", {
    totals: "{{ config(alias='pkga_totals') }} select 2 as x",
    bare: "select * from {{ ref('totals') }}",
    own: "select * from {{ ref('pkga', 'totals') }}",
    only_here: "select * from {{ ref('bare') }}",
  });

  it("resolves as dbt: ref(pkg, name) in that package; a bare ref in the root project, then the node's package, then a unique one", async () => {
    const compiled = await compileManifest(
      project({ totals: "select 1 as x", uses: "select * from {{ ref('totals') }}, {{ ref('own') }}" }, [pkga]),
    );
    expect(deps(compiled)).toEqual({
      "model.app.totals": [],
      "model.app.uses": ["model.app.totals", "model.pkga.own"],
      "model.pkga.totals": [],
      "model.pkga.bare": ["model.app.totals"],
      "model.pkga.own": ["model.pkga.totals"],
      "model.pkga.only_here": ["model.pkga.bare"],
    });
    const own = compiled.nodes.find((n) => n.uniqueId === "model.pkga.own")!;
    expect(await compileNode(compiled, own)).toBe('select * from main."pkga_totals"');
    const bare = compiled.nodes.find((n) => n.uniqueId === "model.pkga.bare")!;
    expect(await compileNode(compiled, bare)).toBe('select * from main."totals"');
  });

  it("refuses a bare ref that two packages could mean, and a two-argument ref to nothing", async () => {
    const pkgb = pkg("pkgb", { totals: "{{ config(alias='pkgb_totals') }} select 3 as x" });
    await expect(compileManifest(project({ uses: "select *\nfrom {{ ref('totals') }}" }, [pkga, pkgb]))).rejects.toEqual(
      new CompileError(
        "models/uses.sql:2: ref('totals') is ambiguous: packages pkga, pkgb each have one; write ref('<package>', 'totals')",
      ),
    );
    await expect(compileManifest(project({ uses: "select * from {{ ref('pkgb', 'nope') }}" }, [pkgb]))).rejects.toEqual(
      new CompileError("models/uses.sql:1: ref('pkgb', 'nope') names no model, seed or snapshot"),
    );
  });

  it("drops a package whose model cannot render or refs nothing, and keeps the build", async () => {
    const broken = pkg("monitor", { runs: "select {{ monitor_only_macro() }} as x" });
    const dangling = pkg("dangling", { lost: "select * from {{ ref('nowhere') }}" });
    const compiled = await compileManifest(project({ uses: "select 1 as x" }, [broken, dangling]));
    expect(compiled.nodes.map((n) => n.uniqueId)).toEqual(["model.app.uses"]);
    expect(compiled.parsedNotRun.map((n) => n.what)).toEqual([
      expect.stringMatching(
        /^package monitor: 1 item that Sluice does not run \(model models\/runs\.sql\), because dbt_packages\/monitor\/models\/runs\.sql/,
      ),
      "package dangling: 1 item that Sluice does not run (model models/lost.sql), because dbt_packages/dangling/models/lost.sql:1: " +
        "ref('nowhere') names no model, seed or snapshot; its macros and tests are available",
    ]);
  });
});
