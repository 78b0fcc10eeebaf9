/**
 * What a report request that misses the cache costs D1: the example models carry the indexes their
 * reports read through (so a miss reads the rows it serves, not the whole table), and a model's
 * columns are read once per model run, not on every miss, yet a column a rebuild adds is served
 * from that rebuild on.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import { reportSchema } from "../../src/config/schema.ts";
import { planReportQuery } from "../../src/report/query.ts";
import { queryReport } from "../../src/report/report-rows.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { buildUpTo } from "../support/reports.ts";

/** env.DB, counting the statements that read a table's columns. */
function countingDb(): { db: D1Database; columnReads: () => number } {
  let reads = 0;
  const db = new Proxy(env.DB, {
    get(target, key) {
      if (key === "prepare")
        return (sql: string) => {
          if (sql.includes("pragma_table_info")) reads += 1;
          return target.prepare(sql);
        };
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, columnReads: () => reads };
}

const indexesOf = async (table: string) =>
  (
    await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 ORDER BY name")
      .bind(table)
      .all<{ name: string }>()
  ).results.map((r) => r.name);

/** SQLite's plan for a report request's query, as one line. */
async function planOf(report: string, query: string): Promise<string> {
  const plan = planReportQuery(getConfig().reports[report]!, new URLSearchParams(query), undefined);
  const rows = await env.DB.prepare(`EXPLAIN QUERY PLAN ${plan.sql}`)
    .bind(...plan.params)
    .all<{ detail: string }>();
  return rows.results.map((r) => r.detail).join("; ");
}

describe("example models: the indexes their reports need", () => {
  beforeAll(async () => {
    await deliver([recordMessage("idx-1", { type: "t" })]);
    await buildUpTo("daily_revenue");
    await buildUpTo("events_per_day");
    await buildUpTo("open_issues");
  });

  it("builds daily_revenue with its (currency, day) and (day) indexes", async () => {
    expect(await indexesOf("daily_revenue")).toEqual(["__sluice_idx_daily_revenue_currency_day", "__sluice_idx_daily_revenue_day"]);
  });

  it("builds events_per_day and open_issues with the indexes their reports sort by", async () => {
    expect(await indexesOf("events_per_day")).toEqual(["__sluice_idx_events_per_day_day"]);
    expect(await indexesOf("open_issues")).toEqual(["__sluice_idx_open_issues_updated_at"]);
  });

  it("builds fct_charges with an index on its load-order watermark, beside its key's", async () => {
    expect(await indexesOf("fct_charges")).toEqual(["__sluice_idx_fct_charges_load_seq", "__sluice_key_fct_charges"]);
    const plan = await env.DB.prepare("EXPLAIN QUERY PLAN SELECT coalesce(max(load_seq), 0) FROM fct_charges").all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("; ")).toContain("USING COVERING INDEX __sluice_idx_fct_charges_load_seq");
  });

  it("reads a currency's days through the index, not by scanning the table", async () => {
    const plan = await planOf("daily_revenue", "currency=usd&from=2020-01-01&to=2020-01-31&sort=-day&limit=100");
    expect(plan).toContain("USING INDEX __sluice_idx_daily_revenue_currency_day");
    expect(plan).not.toMatch(/SCAN daily_revenue(?! USING)/);
  });

  it("reads a range of days, newest first, through the day index", async () => {
    expect(await planOf("daily_revenue", "from=2020-01-01")).toContain("USING INDEX __sluice_idx_daily_revenue_day");
    expect(await planOf("events_per_day", "from=2020-01-01")).toContain("USING INDEX __sluice_idx_events_per_day_day");
    expect(await planOf("open_issues", "since=2020-01-01T00:00:00Z")).toContain("USING INDEX __sluice_idx_open_issues_updated_at");
  });
});

describe("a report's columns, read once per model run", () => {
  const report = reportSchema.parse({ description: "probe", model: "report_columns_probe", sort: ["id"], key: ["id"] });
  const plan = () => planReportQuery(report, new URLSearchParams(), undefined);

  beforeAll(async () => {
    await env.DB.batch([
      env.DB.prepare("DROP TABLE IF EXISTS report_columns_probe"),
      env.DB.prepare("CREATE TABLE report_columns_probe (id INTEGER, name TEXT)"),
      env.DB.prepare("INSERT INTO report_columns_probe VALUES (1, 'a')"),
    ]);
  });

  it("reads the columns on the first miss of a run and not on the misses after it", async () => {
    const { db, columnReads } = countingDb();
    const first = await queryReport(db, report, plan(), "run-1");
    expect(first.columns).toEqual([
      { name: "id", type: "INTEGER" },
      { name: "name", type: "TEXT" },
    ]);
    expect(first.rows).toEqual([{ id: 1, name: "a" }]);
    for (let i = 0; i < 3; i++) expect((await queryReport(db, report, plan(), "run-1")).columns).toEqual(first.columns);
    expect(columnReads()).toBe(1);
  });

  it("serves a column a rebuild adds from that rebuild's run on, never before", async () => {
    const { db, columnReads } = countingDb();
    await queryReport(db, report, plan(), "run-1");
    // The table gains a column, as a `select *` model over an evolving stream does when it rebuilds.
    await env.DB.prepare("ALTER TABLE report_columns_probe ADD COLUMN email TEXT").run();
    const before = await queryReport(db, report, plan(), "run-1");
    expect(before.columns.map((c) => c.name)).toEqual(["id", "name"]);
    expect(columnReads()).toBe(0);

    const after = await queryReport(db, report, plan(), "run-2");
    expect(after.columns.map((c) => c.name)).toEqual(["id", "name", "email"]);
    expect(after.rows).toEqual([{ id: 1, name: "a", email: null }]);
    await queryReport(db, report, plan(), "run-2");
    expect(columnReads()).toBe(1);
  });

  it("reads the columns on every miss of a model with no recorded run", async () => {
    const { db, columnReads } = countingDb();
    await queryReport(db, report, plan());
    await queryReport(db, report, plan());
    expect(columnReads()).toBe(2);
  });

  it("still tells a model that is not built from a failing query", async () => {
    const missing = reportSchema.parse({ description: "missing", model: "report_columns_missing" });
    const run = queryReport(env.DB, missing, planReportQuery(missing, new URLSearchParams(), undefined), "run-1");
    await expect(run).rejects.toMatchObject({ code: "model_not_built" });
  });
});
