/// <reference types="vite/client" />
/**
 * Sluice's sluice_sqlite package: the sqlite__ versions of dbt_date's and dbt_utils' macros, found
 * by dispatch before the package's own default__ (which, in the fixture's stand-in packages, is
 * not valid SQLite), rendered through the engine and run on D1.
 */
import { describe, expect, it } from "vitest";
import { compileManifest } from "../../src/models/compile/index.ts";
import { projectFiles } from "../support/fixture-project.ts";
import { buildManifest, rows } from "../support/pipeline.ts";

const files = import.meta.glob(["../fixtures/packages/**/*", "../fixtures/packages/dbt_packages/**/*"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;
const manifest = await compileManifest(projectFiles(files, "../fixtures/packages"));
const summary = await buildManifest(manifest);

describe("sluice_sqlite: dbt_date and dbt_utils on D1", () => {
  it("builds every model: dispatch finds sqlite__ before the packages' default__", () => {
    expect(summary.results.filter((r) => !["success", "pass", "warn"].includes(r.status))).toEqual([]);
    expect(summary.results.map((r) => r.uniqueId)).toEqual(
      expect.arrayContaining(["model.pkg_shims.dates", "model.pkg_shims.found_tables"]),
    );
  });

  it("converts time zones with the zone's offsets at each instant, across DST changes", async () => {
    expect(await rows("SELECT id, local_at, kolkata_at, utc_at FROM dates ORDER BY id")).toEqual([
      // America/New_York (the root project's var) moved to EDT at 2024-03-10T07:00Z and back at 2024-11-03T06:00Z.
      { id: 1, local_at: "2024-03-10T01:59:00.000Z", kolkata_at: "2024-03-10T12:29:00.000Z", utc_at: "2024-11-03T05:30:00.000Z" },
      { id: 2, local_at: "2024-03-10T03:00:00.000Z", kolkata_at: "2024-03-10T12:30:00.000Z", utc_at: "2024-11-03T07:30:00.000Z" },
      // A wall time that came twice takes the earlier offset; one that never came, the offset before the change.
      { id: 3, local_at: "2024-11-03T01:30:00.000Z", kolkata_at: "2024-11-03T11:00:00.000Z", utc_at: "2024-03-10T07:30:00.000Z" },
      { id: 4, local_at: "2024-12-30T07:00:00.000Z", kolkata_at: "2024-12-30T17:30:00.000Z", utc_at: "2025-01-01T05:00:00.000Z" },
    ]);
  });

  it("reads date parts, day and month names, weeks and epochs as dbt_date does on DuckDB and Postgres", async () => {
    const columns =
      "dow, quarter, iso_week, day_of_year, iso_dow, dow_from_sunday, day_short, day_long, month_long, week_of_year, iso_week_start, epoch, from_ms";
    expect(await rows(`SELECT ${columns} FROM dates ORDER BY id`)).toEqual([
      {
        dow: 0,
        quarter: 1,
        iso_week: 10,
        day_of_year: 70,
        iso_dow: 7,
        dow_from_sunday: 1,
        day_short: "Sun",
        day_long: "Sunday",
        // The project's own sqlite__month_name wins over Sluice's.
        month_long: "month 03",
        week_of_year: 10,
        iso_week_start: "2024-03-04",
        epoch: 1710053940,
        from_ms: "2024-01-01T00:00:00.000Z",
      },
      {
        dow: 0,
        quarter: 1,
        iso_week: 10,
        day_of_year: 70,
        iso_dow: 7,
        dow_from_sunday: 1,
        day_short: "Sun",
        day_long: "Sunday",
        month_long: "month 03",
        week_of_year: 10,
        iso_week_start: "2024-03-04",
        epoch: 1710054000,
        from_ms: "2024-01-01T00:00:00.500Z",
      },
      {
        dow: 0,
        quarter: 4,
        iso_week: 44,
        day_of_year: 308,
        iso_dow: 7,
        dow_from_sunday: 1,
        day_short: "Sun",
        day_long: "Sunday",
        month_long: "month 11",
        week_of_year: 44,
        iso_week_start: "2024-10-28",
        epoch: 1730611800,
        from_ms: "1970-01-01T00:00:00.000Z",
      },
      {
        dow: 1,
        quarter: 4,
        // 2024-12-30 is in ISO week 1 of 2025.
        iso_week: 1,
        day_of_year: 365,
        iso_dow: 1,
        dow_from_sunday: 2,
        day_short: "Mon",
        day_long: "Monday",
        month_long: "month 12",
        week_of_year: 53,
        iso_week_start: "2024-12-30",
        epoch: 1735560000,
        from_ms: "2025-01-01T00:00:00.000Z",
      },
    ]);
  });

  it("puts values in width buckets as Postgres' width_bucket does, the maximum in bucket n + 1", async () => {
    expect(await rows("SELECT amount, bucket FROM buckets ORDER BY id")).toEqual([
      { amount: 0, bucket: 1 },
      { amount: 25, bucket: 2 },
      { amount: 60, bucket: 3 },
      { amount: 100, bucket: 5 },
    ]);
  });

  it("generates date spines (end excluded) and integer series for both packages", async () => {
    expect(await rows("SELECT date_day FROM day_spine ORDER BY 1")).toEqual(
      ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"].map((d) => ({ date_day: `${d}T00:00:00.000Z` })),
    );
    expect(await rows("SELECT date_month FROM month_spine ORDER BY 1")).toEqual(
      ["2024-01-15", "2024-02-15", "2024-03-15"].map((d) => ({ date_month: `${d}T00:00:00.000Z` })),
    );
    expect(await rows("SELECT generated_number, typeof(generated_number) AS type FROM series ORDER BY 1")).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ generated_number: n, type: "integer" })),
    );
  });

  it("runs a package's generic test, which asks should_store_failures()", () => {
    expect(summary.results.find((r) => r.uniqueId.startsWith("test.pkg_shims.dbt_utils_expression_is_true_buckets"))).toMatchObject({
      status: "pass",
    });
  });

  it("counts a test's failures with the fail_calc its macro sets with config()", () => {
    const equal = (model: string) =>
      summary.results.find((r) => r.uniqueId.startsWith(`test.pkg_shims.dbt_utils_equal_rowcount_${model}_`));
    // One row each: a diff of 0 rows passes; 4 against 5 rows is one failure, not one row.
    expect(equal("dates")).toMatchObject({ status: "pass", failures: 0 });
    expect(equal("buckets")).toMatchObject({ status: "warn", failures: 1, message: "Got 1 result, configured to warn if !=0" });
  });

  it("builds a seed before the models that read it as a source (not a stream) of the same relation", async () => {
    const order = manifest.nodes.map((n) => n.uniqueId);
    expect(order.indexOf("seed.pkg_shims.events_raw")).toBeLessThan(order.indexOf("model.pkg_shims.by_source"));
    expect(await rows("SELECT id, label FROM by_source")).toEqual([{ id: 1, label: "one" }]);
    expect(manifest.parsedNotRun).toEqual([
      { path: "models/properties.yml", line: 12, what: "time_spine of day_spine (documentation only)" },
    ]);
  });

  it("finds relations by schema and name pattern in sqlite_master, as schema__name for a custom schema", async () => {
    expect(await rows("SELECT schema_name, identifier, kind, row_count FROM found_tables ORDER BY 1, 2")).toEqual([
      { schema_name: "main", identifier: "events", kind: "table", row_count: 4 },
      { schema_name: "main_raw", identifier: "events_raw", kind: "table", row_count: 1 },
    ]);
  });
});
