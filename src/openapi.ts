/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of Sluice's HTTP API, generated from the routes
 * the app serves (each declared once, with `createRoute`, where it is served) and specialised to
 * the pipeline: the webhook route names its sources, and the report route becomes one path per
 * report with that report's typed params. `GET /docs` renders it as a page. Routes declared
 * hidden (HTML pages, the dashboard's forms) are served but not documented.
 */
import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { SluiceConfig } from "./config/index.ts";
import { createRouter, hiddenRoute } from "./http/routers.ts";
import { receiveWebhook, webhookRouteFor } from "./ingest/routes.ts";
import { getReport, reportRoutesFor } from "./report/reports.ts";

type Json = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: any app's routes, whatever its env
type AnyApp = OpenAPIHono<any, any, any>;

/** Served routes the document shows differently for each pipeline. */
const perPipeline: Record<string, (route: RouteConfig, config: SluiceConfig) => RouteConfig[]> = {
  [`${receiveWebhook.method} ${receiveWebhook.path}`]: webhookRouteFor,
  [`${getReport.method} ${getReport.path}`]: reportRoutesFor,
};

/**
 * The document for an app's routes and a pipeline config, built once per config and public URL.
 * The server is the configured SLUICE_PUBLIC_URL, or `/` (relative to wherever the document was
 * fetched), never the request's Host: a Host header is the caller's to choose.
 */
const documents = new WeakMap<AnyApp, WeakMap<SluiceConfig, Map<string, Json>>>();

export function openApiDocument(app: AnyApp, config: SluiceConfig, publicUrl: string | undefined): Json {
  const server = publicUrl ?? "/";
  const byConfig = documents.get(app) ?? new WeakMap<SluiceConfig, Map<string, Json>>();
  documents.set(app, byConfig);
  const byServer = byConfig.get(config) ?? new Map<string, Json>();
  byConfig.set(config, byServer);
  const cached = byServer.get(server);
  if (cached) return cached;

  const api = new OpenAPIHono();
  api.openAPIRegistry.registerComponent("securitySchemes", "reportToken", {
    type: "http",
    scheme: "bearer",
    description: "A token from REPORT_TOKENS (or ADMIN_TOKENS)",
  });
  api.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "A token from ADMIN_TOKENS",
  });
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route") continue;
    const { route } = definition;
    const specialise = perPipeline[`${route.method} ${route.path}`];
    for (const shown of specialise ? specialise(route, config) : [route]) api.openAPIRegistry.registerPath(shown);
  }
  const document = api.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Sluice",
      version: "0.1.0",
      description: "Serverless ELT on Cloudflare Workers: webhooks and pulls in, typed tables and models, reports out.",
    },
    servers: [{ url: server }],
  }) as unknown as Json;
  byServer.set(server, document);
  return document;
}

/** `/openapi.json` and `/docs` for the routes `app` serves; public, and hidden from the document itself. */
export function openApiRoutes(app: AnyApp) {
  const routes = createRouter("public");
  routes.openapi(hiddenRoute("get", "/openapi.json"), (c) =>
    c.json(openApiDocument(app, c.var.runtime.config, c.var.runtime.settings.publicUrl)),
  );
  routes.openapi(hiddenRoute("get", "/docs"), (c) => {
    const document = openApiDocument(app, c.var.runtime.config, c.var.runtime.settings.publicUrl) as {
      paths: Record<string, Record<string, { summary: string; parameters?: { name: string; in: string }[] }>>;
    };
    const escapeHtml = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
    const rows = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => {
        const params = (op.parameters ?? []).map((p) => `${p.name} (${p.in})`).join(", ");
        return `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary)}</td><td>${escapeHtml(params)}</td></tr>`;
      }),
    );
    c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice API</title><style>body{font:14px system-ui,sans-serif;margin:24px}td{padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}</style></head><body><h1>Sluice API</h1><p>The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p><table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Parameters</th></tr></thead><tbody>${rows.join("")}</tbody></table></body></html>`,
    );
  });
  return routes;
}
