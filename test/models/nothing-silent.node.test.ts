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

const dbtDeps = "install them with `dbt deps` (or copy each package's folder into dbt_packages/), then compile again";

const refused: [string, string][] = [
  [
    "contract-without-data-type",
    "models/schema.yml:11: contract: column status of orders has no data_type; a model with an enforced contract declares every column's data_type",
  ],
  ["column-constraints", "models/schema.yml:7: constraints apply only to a model with contract: {enforced: true}"],
  [
    "constraint-foreign-key",
    "models/schema.yml:12: constraints: Sluice does not enforce foreign_key constraints on D1 (it enforces not_null, unique, primary_key, check on columns; primary_key, unique and check on a model)",
  ],
  ["merge-without-unique-key", "models/orders.sql: incremental_strategy: merge needs a unique_key"],
  [
    "unknown-strategy",
    "models/orders.sql:1: incremental_strategy: Sluice does not support the insert_overwrite incremental strategy yet (Sluice runs append, delete+insert, merge and microbatch)",
  ],
  [
    "check-snapshot-without-check-cols",
    "snapshots/orders_snapshot.sql: snapshot orders_snapshot with strategy='check' needs check_cols (a list of columns, or 'all')",
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
    "snapshot-bad-relation",
    `models/snapshots.yml:5: relation: a snapshot's relation is ref('name') or source('source', 'table'), not "orders"`,
  ],
  ["project-unknown-key", 'dbt_project.yml:3: unknown key "dispatcher" in the project file'],
  [
    "packages-missing",
    "packages.yml: packages are not installed in dbt_packages/: dbt-labs/dbt_utils (line 2), " +
      `https://github.com/dbt-labs/dbt-audit-helper.git (line 4); ${dbtDeps}`,
  ],
  ["dependencies-missing", `dependencies.yml: a package is not installed in dbt_packages/: calogica/dbt_date (line 2); ${dbtDeps}`],
  ["macro-syntax", "macros/broken.sql:3: unexpected '}'"],
  [
    "unknown-package-test",
    'models/schema.yml: unknown test "dbt_expectations.expect_column_to_exist": no package named dbt_expectations is installed in dbt_packages/',
  ],
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
