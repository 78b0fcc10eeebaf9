/**
 * The reporting API (REPORT_TOKENS, or ADMIN_TOKENS). `GET /v1/reports` lists the reports a
 * token may read; `GET /v1/reports/:name` serves one as JSON (with `meta`), CSV (RFC 4180,
 * formulas escaped: see csv.ts) or NDJSON, a page at a time with an opaque keyset `cursor`. The
 * handler plans the query (query.ts), asks the cache policy (cache-policy.ts) for a 304 or a
 * cached answer, and otherwise runs the query (report-rows.ts) and renders it (render.ts).
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { z } from "zod";
import type { ReportDefinition, SluiceConfig } from "../config/index.ts";
import { errors, jsonAnswer } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { assertReportAllowed } from "../lib/auth.ts";
import { SluiceError } from "../lib/errors.ts";
import { lastSuccessfulRun } from "../models/last-run.ts";
import { getManifest } from "../models/manifest.ts";
import { cachePolicy, openReportCache, reply, reportVariant } from "./cache-policy.ts";
import { planReportQuery } from "./query.ts";
import { renderReport } from "./render.ts";
import { queryReport } from "./report-rows.ts";

export const reportRoutes = createRouter("report");

// Browsers' preflights carry no token, so CORS answers them before any route's guard.
for (const path of ["/v1/reports", "/v1/reports/*"]) {
  reportRoutes.use(path, (c, next) =>
    cors({ origin: c.var.runtime.config.cors.origins, allowHeaders: ["Authorization", "If-None-Match"], exposeHeaders: ["ETag"] })(c, next),
  );
}

const reportSchema = z
  .object({
    report: z.string(),
    rows: z.array(z.record(z.string(), z.unknown())),
    meta: z.object({
      columns: z.array(z.object({ name: z.string(), type: z.string().nullable() })),
      row_count: z.int(),
      generated_at: z.string(),
      last_run: z.object({ run_id: z.string(), finished_at: z.string() }).nullable(),
      freshness: z.array(z.record(z.string(), z.unknown())),
      next_cursor: z.string().nullable(),
    }),
  })
  .meta({ id: "Report" });

const listReports = createRoute({
  method: "get",
  path: "/v1/reports",
  summary: "The reports this token may read",
  responses: { 200: jsonAnswer("Reports"), ...errors(401, 429) },
});

/** One report: served for every name, documented per report (see `reportRoutesFor`). */
export const getReport = createRoute({
  method: "get",
  path: "/v1/reports/{name}",
  summary: "One report's rows",
  request: {
    params: z.object({ name: z.string() }),
    headers: z.object({
      "if-none-match": z.string().optional().meta({ description: "An ETag this report gave out: 304 if it still holds" }),
      "cache-control": z.string().optional().meta({ description: "no-cache answers afresh; no-store keeps the answer in no cache" }),
    }),
  },
  responses: {
    200: {
      description: "Rows of the report's model",
      headers: z.object({ ETag: z.string(), "Cache-Control": z.string() }),
      content: {
        "application/json": { schema: reportSchema },
        "text/csv": { schema: z.string() },
        "application/x-ndjson": { schema: z.string() },
      },
    },
    ...errors(304, 400, 401, 403, 404, 429, 503),
  },
});

reportRoutes.openapi(listReports, (c) => {
  const grant = c.var.grant;
  const reports = Object.entries(c.var.runtime.config.reports)
    .filter(([name]) => grant.reports === null || grant.reports.includes(name))
    .map(([name, report]) => ({ name, description: report.description, model: report.model, url: `/v1/reports/${name}` }));
  return c.json({ reports }, 200);
});

reportRoutes.openapi(getReport, async (c) => {
  const { config, env } = c.var.runtime;
  const { name } = c.req.valid("param");
  if (!Object.hasOwn(config.reports, name)) throw new SluiceError("unknown_report", `no report named "${name}"`);
  assertReportAllowed(c.var.grant, name);
  const report = config.reports[name]!;
  const url = new URL(c.req.url);
  const plan = planReportQuery(report, url.searchParams, c.req.header("accept"));

  const policy = cachePolicy(report, c.req.header("cache-control"));
  const uniqueId = getManifest().nodes.find((node) => node.name === report.model)?.uniqueId ?? report.model;
  const lastRun = await lastSuccessfulRun(env.DB, uniqueId, { fresh: !policy.lookUp, waitUntil: (work) => c.executionCtx.waitUntil(work) });
  const cache = await openReportCache(policy, reportVariant(name, lastRun?.runId, plan.format, url.searchParams));
  if (cache.notModified(c.req.header("if-none-match"))) {
    return c.body(null, 304, { ETag: cache.etag, "Cache-Control": policy.cacheControl, Vary: "Accept" }) as never;
  }
  const cached = await cache.lookUp();
  if (cached) return reply(cached, "HIT", policy.cacheControl) as never;

  const result = await queryReport(env.DB, report, plan, lastRun?.runId);
  const served = cache.store(renderReport({ name, report, plan, url, result, lastRun }), (work) => c.executionCtx.waitUntil(work));
  return reply(served, "MISS", policy.cacheControl) as never;
});

/**
 * The report route as `/openapi.json` shows it for a pipeline: one path per report, with the
 * report's own params, filters, sort orders and limit as typed query parameters.
 */
export function reportRoutesFor(route: RouteConfig, config: SluiceConfig): RouteConfig[] {
  return Object.entries(config.reports).map(([name, report]) => ({
    ...route,
    path: route.path.replace("{name}", name),
    summary: report.description,
    request: { query: reportQuery(report), ...(route.request?.headers ? { headers: route.request.headers } : {}) },
    responses: { ...route.responses, 200: { ...route.responses[200], description: `Rows of ${report.model}` } },
  }));
}

function reportQuery(report: ReportDefinition) {
  const query: Record<string, z.ZodType> = {};
  for (const [param, spec] of Object.entries(report.params)) {
    query[param] = spec.schema.optional().meta({ description: spec.description ?? `${spec.column} ${spec.op} value` });
  }
  for (const [column, schema] of Object.entries(report.filters))
    query[column] = schema.optional().meta({ description: `Rows whose ${column} equals the value` });
  if (report.sort.length > 0) query.sort = z.enum(report.sort.flatMap((c) => [c, `-${c}`]) as [string, ...string[]]).optional();
  query.limit = z.int().min(1).max(report.limit).optional();
  query.cursor = z.string().optional().meta({ description: "meta.next_cursor of the previous page" });
  query.format = z.enum(["json", "csv", "ndjson"]).optional();
  return z.object(query);
}
