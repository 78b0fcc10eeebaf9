/**
 * The reporting API. `GET /v1/reports` lists the reports declared in the pipeline config;
 * `GET /v1/reports/:name` serves one as JSON. Identifiers come only from the declaration
 * (checked by the config schema and quoted); request values are never put into SQL.
 */
import { Hono } from "hono";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { ReportDefinition } from "../config/index.ts";
import { modelResults } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { getManifest } from "../models/manifest.ts";
import { quoteIdent } from "../lib/sql.ts";
import { requireToken } from "../lib/auth.ts";

export const reportRoutes = new Hono<AppEnv>();

reportRoutes.use("/v1/reports", requireToken("report"));
reportRoutes.use("/v1/reports/*", requireToken("report"));

reportRoutes.get("/v1/reports", (c) => {
  const reports = Object.entries(c.var.runtime.config.reports).map(([name, report]) => ({
    name,
    description: report.description,
    model: report.model,
    url: `/v1/reports/${name}`,
  }));
  return c.json({ reports });
});

reportRoutes.get("/v1/reports/:name", async (c) => {
  const { config, env } = c.var.runtime;
  const name = c.req.param("name");
  if (!Object.hasOwn(config.reports, name)) {
    throw new SluiceError("unknown_report", `no report named "${name}"`);
  }
  const report = config.reports[name]!;
  const columns = await env.DB.prepare("SELECT name, type FROM pragma_table_info(?1)")
    .bind(report.model)
    .all<{ name: string; type: string }>();
  if (columns.results.length === 0) {
    throw new SluiceError("model_not_built", `model "${report.model}" has not been built yet; it builds on the next model run`);
  }
  const rows = await env.DB.prepare(selectSql(report)).bind(report.limit).all();
  const lastRun = await drizzle(env.DB)
    .select({ runId: modelResults.runId, finishedAt: modelResults.finishedAt })
    .from(modelResults)
    .where(and(eq(modelResults.uniqueId, modelUniqueId(report.model)), eq(modelResults.status, "success")))
    .orderBy(desc(modelResults.finishedAt))
    .limit(1);
  return c.json({
    report: name,
    rows: rows.results,
    meta: {
      columns: columns.results.map((col) => ({ name: col.name, type: columnType(col.type, col.name, rows.results) })),
      row_count: rows.results.length,
      generated_at: new Date().toISOString(),
      last_run: lastRun[0] ? { run_id: lastRun[0].runId, finished_at: lastRun[0].finishedAt } : null,
    },
  });
});

type ColumnType = "integer" | "real" | "text" | "blob" | "numeric" | null;

/**
 * A column's type for clients: SQLite's affinity from the declared type, or, where the model's
 * SQL declared none (CREATE TABLE … AS SELECT over expressions), the type of its first value.
 */
function columnType(declared: string, column: string, rows: readonly Record<string, unknown>[]): ColumnType {
  const upper = declared.toUpperCase();
  if (upper.includes("INT")) return "integer";
  if (/CHAR|CLOB|TEXT/.test(upper)) return "text";
  if (upper.includes("BLOB")) return "blob";
  if (/REAL|FLOA|DOUB/.test(upper)) return "real";
  if (upper !== "") return "numeric";
  const value = rows.find((row) => row[column] !== null && row[column] !== undefined)?.[column];
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "real";
  if (typeof value === "string") return "text";
  if (value instanceof ArrayBuffer || Array.isArray(value)) return "blob";
  return null;
}

function selectSql(report: ReportDefinition): string {
  const order = report.defaultOrder.map((o) => `${quoteIdent(o.column)} ${o.direction === "desc" ? "DESC" : "ASC"}`);
  return `SELECT * FROM ${quoteIdent(report.model)}${order.length ? ` ORDER BY ${order.join(", ")}` : ""} LIMIT ?1`;
}

function modelUniqueId(model: string): string {
  return getManifest().nodes.find((node) => node.name === model)?.uniqueId ?? model;
}
