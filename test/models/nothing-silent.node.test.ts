/**
 * Nothing silent: a dbt project that uses what Sluice does not run either fails the compile,
 * naming the file and line, or lists it as "parsed, not run". The fixture in test/fixtures/unrun
 * is a project that compiles (base/) and, in cases/, one change each that Sluice refuses.
 */
import { spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/lib/dev-server.ts";
import { compileProject } from "../../scripts/lib/project.ts";

const fixture = join(import.meta.dirname, "..", "fixtures", "unrun");
const made: string[] = [];

/** The base project with one case's files laid over it, in a folder of its own. */
async function project(name?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-unrun-"));
  made.push(dir);
  await cp(join(fixture, "base"), dir, { recursive: true });
  if (name) await cp(join(fixture, "cases", name), dir, { recursive: true });
  return dir;
}

afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

const dbtDeps = "install them with `dbt deps`, though Sluice does not run installed packages yet either";

const refused: [string, string][] = [
  ["unit-tests", "models/unit_tests.yml:3: Sluice does not support unit tests (unit_tests:) yet"],
  ["on-run-start", "dbt_project.yml:4: on-run-start: Sluice does not support on-run-start hooks yet"],
  ["on-run-end", "dbt_project.yml:3: on-run-end: Sluice does not support on-run-end hooks yet"],
  ["project-pre-hook", "dbt_project.yml:7: pre-hook: Sluice does not support hooks (pre-hook) yet"],
  ["bare-post-hook", "dbt_project.yml:5: post-hook: Sluice does not support hooks (post-hook) yet"],
  [
    "full-refresh-false",
    "models/orders.sql:3: full_refresh: Sluice does not support the full_refresh config yet (a full refresh is chosen per run: sluice build --full-refresh)",
  ],
  ["properties-post-hook", "models/schema.yml:6: post-hook: Sluice does not support hooks (post-hook) yet"],
  ["contract", "models/schema.yml:6: contract: Sluice does not support model contracts yet"],
  ["column-constraints", "models/schema.yml:7: constraints: Sluice does not support constraints yet"],
  [
    "merge-strategy",
    "models/orders.sql:1: incremental_strategy: Sluice does not support the merge incremental strategy yet (Sluice runs append and delete+insert)",
  ],
  [
    "check-snapshot",
    "snapshots/orders_snapshot.sql:4: strategy: Sluice does not support check snapshots yet (snapshots use strategy='timestamp')",
  ],
  [
    "materialized-view",
    "models/orders.sql:1: materialized: Sluice does not support the materialized_view materialization yet (Sluice builds view, table, incremental and ephemeral models)",
  ],
  [
    "singular-test-where",
    "tests/negative_orders.sql:2: where applies to generic tests; a singular test filters in its own SQL (dbt ignores it here)",
  ],
  [
    "test-warn-if-unreadable",
    'models/schema.yml:9: warn_if: expected a comparison with a number, such as ">10" or "!=0", got "more than ten"',
  ],
  ["model-test-config", "dbt_project.yml:9: store_failures is a test config; set it under data_tests:, it does nothing under models:"],
  ["test-unknown-argument", 'models/schema.yml:11: unknown argument "case_sensitive" for the accepted_values test'],
  ["test-name", "models/schema.yml:9: Sluice does not support custom test names (name) yet"],
  ["properties-unknown-key", 'models/schema.yml:6: unknown key "groups_of_things" in a properties file'],
  ["model-versions", "models/schema.yml:5: latest_version: Sluice does not support model versions yet"],
  [
    "source-schema",
    "models/sources.yml:5: schema: Sluice does not support a source's schema yet (Sluice reads raw_<source>__<table>, or the table's identifier)",
  ],
  [
    "snapshot-properties",
    "models/snapshots.yml:3: Sluice does not support properties for snapshots yet (configure a snapshot in its {% snapshot %} block)",
  ],
  ["project-unknown-key", "dbt_project.yml:3: dispatch: Sluice does not support dispatch configs yet"],
  [
    "packages-missing",
    "packages.yml: packages are not installed in dbt_packages/: dbt-labs/dbt_utils (line 2), " +
      `https://github.com/dbt-labs/dbt-audit-helper.git (line 4); ${dbtDeps}`,
  ],
  ["dependencies-missing", `dependencies.yml: packages are not installed in dbt_packages/: calogica/dbt_date (line 2); ${dbtDeps}`],
  [
    "packages-installed",
    "dbt_packages/dbt_utils: Sluice does not support dbt packages yet (remove them from dbt_packages/ and packages.yml)",
  ],
  ["generic-test", "tests/generic/is_positive.sql:3: Sluice does not support custom generic tests ({% test %} blocks) yet"],
  ["macros", "macros/cents_to_dollars.sql: Sluice does not support macros yet (the macros folder must hold no .sql files)"],
];

describe("nothing silent", () => {
  it("compiles the base project, listing what it parsed but does not run, and honours a test's top-level severity", async () => {
    const manifest = await compileProject(await project());
    expect(manifest.parsedNotRun).toEqual([
      { path: "analyses/order_audit.sql", what: "analysis order_audit" },
      { path: "dbt_project.yml", line: 10, what: "flags (dbt's own behaviour flags)" },
      { path: "models/schema.yml", line: 7, what: "data_type of order_id (documentation only)" },
      { path: "models/semantic.yml", line: 4, what: "exposure weekly_report" },
      { path: "models/semantic.yml", line: 10, what: "semantic model orders_semantic" },
      { path: "models/semantic.yml", line: 14, what: "metric order_count" },
      { path: "models/semantic.yml", line: 18, what: "saved query orders_by_day" },
    ]);
    const severities = manifest.nodes.filter((n) => n.resourceType === "test").map((n) => [n.name, n.config.severity]);
    expect(Object.fromEntries(severities)).toEqual({
      unique_orders_order_id: "error",
      not_null_orders_order_id: "warn",
      accepted_values_orders_status__placed__shipped: "warn",
    });
    // Arguments under `arguments:` (dbt 1.10) are the test's arguments.
    expect(manifest.nodes.find((n) => n.name === "accepted_values_orders_status__placed__shipped")?.rawSql).toContain(
      "not in ('placed', 'shipped')",
    );
  });

  it("npm run build prints what it parsed but does not run, and keeps it in the manifest", async () => {
    const out = join(await project(), "manifest.json");
    const result = spawnSync(join(repoRoot, "node_modules", ".bin", "node"), ["scripts/compile-manifest.ts"], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, SLUICE_PIPELINE_DIR: "test/fixtures/unrun/base", SLUICE_MANIFEST_OUT: out },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.split("\n").filter((line) => line.includes("parsed, not run"))).toEqual([
      "sluice compile: parsed, not run: test/fixtures/unrun/base/analyses/order_audit.sql analysis order_audit",
      "sluice compile: parsed, not run: test/fixtures/unrun/base/dbt_project.yml:10 flags (dbt's own behaviour flags)",
      "sluice compile: parsed, not run: test/fixtures/unrun/base/models/schema.yml:7 data_type of order_id (documentation only)",
      "sluice compile: parsed, not run: test/fixtures/unrun/base/models/semantic.yml:4 exposure weekly_report",
      "sluice compile: parsed, not run: test/fixtures/unrun/base/models/semantic.yml:10 semantic model orders_semantic",
      "sluice compile: parsed, not run: test/fixtures/unrun/base/models/semantic.yml:14 metric order_count",
      "sluice compile: parsed, not run: test/fixtures/unrun/base/models/semantic.yml:18 saved query orders_by_day",
    ]);
    expect(JSON.parse(await readFile(out, "utf8")).parsedNotRun).toHaveLength(7);
  });

  it.each(refused)("refuses %s, naming the file and line", async (name, message) => {
    await expect(compileProject(await project(name))).rejects.toThrow(message);
    await expect(compileProject(await project(name))).rejects.toMatchObject({ name: "CompileError", message });
  });
});
