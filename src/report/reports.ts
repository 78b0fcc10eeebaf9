/**
 * The reporting API. `GET /v1/reports` lists the reports a token may read; `GET
 * /v1/reports/:name` serves one as JSON (with `meta`), CSV (RFC 4180, formulas escaped: see
 * csv.ts) or NDJSON, a page at a time with an opaque keyset `cursor`. Responses carry an ETag and Cache-Control and are cached
 * through the Workers Cache API under a key that includes the model's last successful run, so a
 * rebuild invalidates them at once; `If-None-Match` gets 304.
 */
import { getTableName } from "drizzle-orm";
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { ReportDefinition } from "../config/index.ts";
import { sourceFreshness } from "../db/schema.ts";
import type { AppEnv, Grant } from "../env.ts";
import { assertReportAllowed, requireToken } from "../lib/auth.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";
import { quoteIdent } from "../lib/sql.ts";
import { lastSuccessfulRun } from "../models/last-run.ts";
import { getManifest } from "../models/manifest.ts";
import { toCsv } from "./csv.ts";
import { encodeCursor, type Format, planReportQuery } from "./query.ts";
import { type RecentReport, recentReport, rememberReport } from "./recent.ts";

export const reportRoutes = new Hono<AppEnv & { Variables: { grant: Grant } }>();

reportRoutes.use("/v1/reports", (c, next) =>
  cors({ origin: c.var.runtime.config.cors.origins, allowHeaders: ["Authorization", "If-None-Match"], exposeHeaders: ["ETag"] })(c, next),
);
reportRoutes.use("/v1/reports/*", (c, next) =>
  cors({ origin: c.var.runtime.config.cors.origins, allowHeaders: ["Authorization", "If-None-Match"], exposeHeaders: ["ETag"] })(c, next),
);
reportRoutes.use("/v1/reports", requireToken("report"));
reportRoutes.use("/v1/reports/*", requireToken("report"));

reportRoutes.get("/v1/reports", (c) => {
  const grant = c.var.grant;
  const reports = Object.entries(c.var.runtime.config.reports)
    .filter(([name]) => grant.reports === null || grant.reports.includes(name))
    .map(([name, report]) => ({ name, description: report.description, model: report.model, url: `/v1/reports/${name}` }));
  return c.json({ reports });
});

reportRoutes.get("/v1/reports/:name", async (c) => {
  const { config, env } = c.var.runtime;
  const name = c.req.param("name");
  if (!Object.hasOwn(config.reports, name)) throw new SluiceError("unknown_report", `no report named "${name}"`);
  assertReportAllowed(c.var.grant, name);
  const report = config.reports[name]!;
  const url = new URL(c.req.url);
  const plan = planReportQuery(report, url.searchParams, c.req.header("accept"));

  // A client's `Cache-Control: no-cache` asks for an answer read afresh, `no-store` for one kept
  // nowhere; a report whose maxAge is 0 is never cached.
  const asked = c.req.header("cache-control")?.toLowerCase() ?? "";
  const lookUp = report.maxAge > 0 && !/\bno-cache\b/.test(asked);
  const store = report.maxAge > 0 && !/\bno-store\b/.test(asked);

  const uniqueId = getManifest().nodes.find((node) => node.name === report.model)?.uniqueId ?? report.model;
  const lastRun = await lastSuccessfulRun(env.DB, uniqueId, { fresh: !lookUp });
  // The cache key and ETag name the model's last successful run (a rebuild changes both) and the
  // format, which an Accept header alone can choose.
  const variant = `${name}/${lastRun?.runId ?? "none"}/${plan.format}?${canonicalQuery(url.searchParams)}`;
  const cacheControl = `private, max-age=${report.maxAge}`;
  const recent = lookUp ? recentReport(variant) : undefined;
  const etag = recent?.etag ?? `"${(await sha256Hex(variant)).slice(0, 32)}"`;
  if (
    c.req
      .header("if-none-match")
      ?.split(/\s*,\s*/)
      .includes(etag)
  ) {
    return c.body(null, 304, { ETag: etag, "Cache-Control": cacheControl, Vary: "Accept" });
  }
  if (recent) return reply(recent, "HIT", cacheControl);

  const cacheKey = new Request(`https://sluice.cache/reports/${variant}`);
  const cache = typeof caches === "undefined" ? undefined : (caches as unknown as { default: Cache }).default;
  const hit = lookUp ? await cache?.match(cacheKey) : undefined;
  if (hit) {
    const stored: RecentReport = {
      body: await hit.text(),
      headers: storedHeaders(hit.headers),
      etag,
      expiresAt: Date.now() + report.maxAge * 1000,
    };
    rememberReport(variant, stored);
    return reply(stored, "HIT", cacheControl);
  }

  // One round trip: the model's columns, the page of rows and (for JSON) the sources' freshness.
  // A model not built yet fails the query on its missing table, and is told apart by its
  // missing columns.
  let columns: D1Result<{ name: string; type: string }>;
  let result: D1Result<Record<string, unknown>>;
  let freshnessRows: D1Result<FreshnessRow> | undefined;
  try {
    [columns, result, freshnessRows] = (await env.DB.batch([
      env.DB.prepare("SELECT name, type FROM pragma_table_info(?1)").bind(report.model),
      env.DB.prepare(plan.sql).bind(...plan.params),
      ...(plan.format === "json" ? [env.DB.prepare(freshnessSql)] : []),
    ])) as [D1Result<{ name: string; type: string }>, D1Result<Record<string, unknown>>, D1Result<FreshnessRow> | undefined];
  } catch (error) {
    const exists = await env.DB.prepare("SELECT count(*) AS n FROM pragma_table_info(?1)").bind(report.model).first<number>("n");
    if (!exists)
      throw new SluiceError("model_not_built", `model "${report.model}" has not been built yet; it builds on the next model run`);
    throw error;
  }
  const rows = result.results.slice(0, plan.limit);
  const nextCursor = result.results.length > plan.limit && plan.order.length > 0 ? encodeCursor(rows.at(-1)!, plan.order) : null;

  const headers: Record<string, string> = { "Content-Type": contentTypes[plan.format], ETag: etag, Vary: "Accept" };
  if (nextCursor) headers.Link = `<${withCursor(url, nextCursor)}>; rel="next"`;
  let body: string;
  if (plan.format === "csv") {
    body = toCsv(
      columns.results.map((col) => col.name),
      rows,
      report.csv,
    );
  } else if (plan.format === "ndjson") {
    body = rows.map((row) => `${JSON.stringify(row)}\n`).join("");
  } else {
    body = JSON.stringify({
      report: name,
      rows,
      meta: {
        columns: columns.results.map((col) => ({ name: col.name, type: columnType(col.type, col.name, rows) })),
        row_count: rows.length,
        generated_at: new Date().toISOString(),
        last_run: lastRun ? { run_id: lastRun.runId, finished_at: lastRun.finishedAt } : null,
        freshness: modelFreshness(report, freshnessRows?.results ?? []),
        next_cursor: nextCursor,
      },
    });
  }
  const served: RecentReport = { body, headers, etag, expiresAt: Date.now() + report.maxAge * 1000 };
  if (store) rememberReport(variant, served);
  if (cache && store) {
    // The Cache API keeps nothing marked private; the stored copy is public to the cache only,
    // under a key only an authorized request reaches, and clients still get `private`.
    c.executionCtx.waitUntil(
      cache.put(cacheKey, new Response(body, { headers: { ...headers, "Cache-Control": `public, max-age=${report.maxAge}` } })),
    );
  }
  return reply(served, "MISS", cacheControl);
});

const contentTypes: Record<Format, string> = {
  json: "application/json",
  csv: "text/csv; charset=utf-8; header=present",
  ndjson: "application/x-ndjson",
};

function reply(entry: RecentReport, cacheStatus: "HIT" | "MISS", cacheControl: string): Response {
  return new Response(entry.body, { headers: { ...entry.headers, "Cache-Control": cacheControl, "X-Cache": cacheStatus } });
}

/** The headers a response keeps from the Cache API's copy (its Cache-Control is the cache's own). */
function storedHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ["Content-Type", "ETag", "Link", "Vary"]) {
    const value = headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return kept;
}

// Raw SQL over drizzle's table name: it runs on every report miss.
const freshnessSql = `SELECT source, table_name AS "table", status, max_loaded_at, checked_at FROM ${quoteIdent(getTableName(sourceFreshness))}`;

interface FreshnessRow {
  source: string;
  table: string;
  status: string;
  max_loaded_at: string | null;
  checked_at: string;
}

/** The freshness of the sources the report's model is built from. */
function modelFreshness(report: ReportDefinition, rows: readonly FreshnessRow[]) {
  const manifest = getManifest();
  const byId = new Map(manifest.nodes.map((n) => [n.uniqueId, n]));
  const sources = new Set<string>();
  const visit = (id: string | undefined, seen = new Set<string>()) => {
    const node = id ? byId.get(id) : undefined;
    if (!node || seen.has(node.uniqueId)) return;
    seen.add(node.uniqueId);
    for (const s of node.dependsOn.sources) sources.add(`${s.source}.${s.table}`);
    for (const parent of node.dependsOn.nodes) visit(parent, seen);
  };
  visit(manifest.nodes.find((n) => n.name === report.model)?.uniqueId);
  return rows.filter((r) => sources.has(`${r.source}.${r.table}`)).map((r) => ({ ...r }));
}

function canonicalQuery(query: URLSearchParams): string {
  return [...query.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

function withCursor(url: URL, cursor: string): string {
  const next = new URL(url);
  next.searchParams.set("cursor", cursor);
  return `${next.pathname}${next.search}`;
}

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
