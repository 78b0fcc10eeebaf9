/**
 * `GET /openapi.json`: an OpenAPI 3.1 document of Sluice's HTTP API, generated from the same
 * zod definitions the routes validate with (report params, request bodies), plus the pipeline's
 * own sources and reports. `GET /docs` renders it as a page.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { SluiceConfig } from "./config/index.ts";
import type { AppEnv } from "./env.ts";
import { replayBody, selection } from "./load/routes.ts";
import { buildBody } from "./models/routes.ts";

type Json = Record<string, unknown>;

const error = { $ref: "#/components/schemas/Error" };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [String(code), { description: describeStatus(code), content: { "application/json": { schema: error } } }]));
const jsonSchema = (schema: z.ZodType, io: "input" | "output" = "input") => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  return rest;
};
const ok = (description: string, schema: Json = { type: "object" }) => ({ "200": { description, content: { "application/json": { schema } } } });
const admin = [{ adminToken: [] }];

function describeStatus(code: number): string {
  return { 304: "Not modified", 400: "Bad request", 401: "Missing or invalid token or signature", 403: "Token out of scope", 404: "Not found", 405: "Method not allowed", 413: "Body too large", 503: "Not ready; retry" }[code] ?? "Error";
}

export function openApiDocument(config: SluiceConfig, origin: string): Json {
  const paths: Record<string, Json> = {
    "/v1/webhooks/{source}": {
      post: {
        summary: "Receive a signed webhook delivery",
        description: "Verified with the source's provider signature (Stripe, GitHub, Shopify, Slack, Standard Webhooks, or the configured generic HMAC).",
        parameters: [{ name: "source", in: "path", required: true, schema: { type: "string", enum: Object.keys(config.sources) } }],
        requestBody: { required: true, content: { "application/json": { schema: {} } } },
        responses: {
          "202": { description: "Accepted and queued", content: { "application/json": { schema: { type: "object", properties: { accepted: { const: 1 }, key: { type: "string" } }, required: ["accepted", "key"] } } } },
          "200": { description: "A protocol handshake (GitHub ping, Slack URL verification)" },
          ...errors(400, 401, 404, 405, 413, 503),
        },
      },
    },
    "/v1/health": { get: { summary: "Bindings and migrations", responses: { ...ok("Healthy"), ...errors(503) } } },
    "/v1/reports": { get: { summary: "The reports this token may read", security: [{ reportToken: [] }], responses: { ...ok("Reports"), ...errors(401) } } },
  };

  for (const [name, report] of Object.entries(config.reports)) {
    const parameters: Json[] = [
      ...Object.entries(report.params).map(([param, spec]) => ({ name: param, in: "query", required: false, description: spec.description ?? `${spec.column} ${spec.op} value`, schema: jsonSchema(spec.schema) })),
      ...report.filters.map((column) => ({ name: column, in: "query", required: false, description: `Rows whose ${column} equals the value`, schema: { type: "string" } })),
      ...(report.sort.length ? [{ name: "sort", in: "query", required: false, schema: { type: "string", enum: report.sort.flatMap((c) => [c, `-${c}`]) } }] : []),
      { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: report.limit } },
      { name: "cursor", in: "query", required: false, description: "meta.next_cursor of the previous page", schema: { type: "string" } },
      { name: "format", in: "query", required: false, schema: { type: "string", enum: ["json", "csv", "ndjson"] } },
    ];
    paths[`/v1/reports/${name}`] = {
      get: {
        summary: report.description,
        security: [{ reportToken: [] }],
        parameters,
        responses: {
          "200": {
            description: `Rows of ${report.model}`,
            headers: { ETag: { schema: { type: "string" } }, "Cache-Control": { schema: { type: "string" } } },
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/Report" } },
              "text/csv": { schema: { type: "string" } },
              "application/x-ndjson": { schema: { type: "string" } },
            },
          },
          ...errors(304, 400, 401, 403, 404, 503),
        },
      },
    };
  }

  const ops: [string, "get" | "post", string, Json?][] = [
    ["/v1/loads", "get", "The load ledger"],
    ["/v1/reconcile", "get", "Accepted, loaded, quarantined and dead-lettered, per stream"],
    ["/v1/replay", "post", "Replay the raw zone over a time range", jsonSchema(replayBody)],
    ["/v1/quarantine", "get", "Quarantined records"],
    ["/v1/quarantine/retry", "post", "Re-drive quarantined records", jsonSchema(selection)],
    ["/v1/dead-letters", "get", "Dead letters"],
    ["/v1/dead-letters/redrive", "post", "Re-enqueue dead letters", jsonSchema(selection)],
    ["/v1/pulls", "get", "Pull runs and cursors"],
    ["/v1/pulls/{source}/{stream}/run", "post", "Start or resume a pull run"],
    ["/v1/models", "get", "Model nodes with config, tests and last status"],
    ["/v1/models/build", "post", "dbt build, run, test or seed over a selection", jsonSchema(buildBody)],
    ["/v1/runs", "get", "Model runs"],
    ["/v1/runs/{runId}", "get", "One model run with its per-node results"],
    ["/v1/lineage", "get", "Sources → streams → models → reports, as JSON and Mermaid"],
    ["/v1/freshness", "get", "Source freshness"],
    ["/metrics", "get", "Prometheus metrics"],
  ];
  for (const [path, method, summary, body] of ops) {
    const parameters = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    paths[path] = {
      [method]: {
        summary,
        security: admin,
        ...(parameters.length ? { parameters } : {}),
        ...(body ? { requestBody: { required: true, content: { "application/json": { schema: body } } } } : {}),
        responses: { ...ok(summary), ...errors(400, 401) },
      },
    };
  }

  return {
    openapi: "3.1.0",
    info: { title: "Sluice", version: "0.1.0", description: "Serverless ELT on Cloudflare Workers: webhooks and pulls in, typed tables and models, reports out." },
    servers: [{ url: origin }],
    components: {
      securitySchemes: {
        reportToken: { type: "http", scheme: "bearer", description: "A token from REPORT_TOKENS (or ADMIN_TOKENS)" },
        adminToken: { type: "http", scheme: "bearer", description: "A token from ADMIN_TOKENS" },
      },
      schemas: {
        Error: {
          type: "object",
          properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" }, requestId: { type: "string" } }, required: ["code", "message", "requestId"] } },
          required: ["error"],
        },
        Report: {
          type: "object",
          properties: {
            report: { type: "string" },
            rows: { type: "array", items: { type: "object" } },
            meta: { type: "object", properties: { columns: { type: "array" }, row_count: { type: "integer" }, generated_at: { type: "string" }, next_cursor: { type: ["string", "null"] } } },
          },
        },
      },
    },
    paths,
  };
}

export const openApiRoutes = new Hono<AppEnv>();

openApiRoutes.get("/openapi.json", (c) => c.json(openApiDocument(c.var.runtime.config, new URL(c.req.url).origin)));

openApiRoutes.get("/docs", (c) => {
  const document = openApiDocument(c.var.runtime.config, new URL(c.req.url).origin) as { paths: Record<string, Record<string, { summary: string; parameters?: { name: string; in: string }[] }>> };
  const escape = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  const rows = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = (op.parameters ?? []).map((p) => `${p.name} (${p.in})`).join(", ");
      return `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escape(path)}</code></td><td>${escape(op.summary)}</td><td>${escape(params)}</td></tr>`;
    }),
  );
  c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice API</title><style>body{font:14px system-ui,sans-serif;margin:24px}td{padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}</style></head><body><h1>Sluice API</h1><p>The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p><table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Parameters</th></tr></thead><tbody>${rows.join("")}</tbody></table></body></html>`,
  );
});
