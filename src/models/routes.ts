/**
 * The model stage's part of the ops API (ADMIN_TOKENS): `POST /v1/models/build` runs dbt's
 * build (or run, test, seed) over a selection; `GET /v1/models` lists the nodes with their
 * config, tests, last status and SLA status, and the sources with theirs; `GET /v1/runs` the
 * model runs, newest first, and `GET /v1/runs/:runId` one run with its per-node results;
 * `GET /v1/freshness` the latest source freshness checks.
 */
import { createRoute } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { modelResults, modelRuns, sourceFreshness } from "../db/schema.ts";
import { errors, jsonAnswer, jsonBody } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { SluiceError } from "../lib/errors.ts";
import { getManifest } from "./manifest.ts";
import { runModels } from "./runner.ts";
import { slaStatuses } from "./sla-status.ts";

export const modelRoutes = createRouter("admin");

const varsMessage = 'vars must be a mapping, or YAML or JSON text of one, such as {"start_date": "2024-01-01"}';
// A list or a number gets the message that text of a list gets.
const varsSchema = z.union([z.record(z.string(), z.unknown()), z.string()], { error: varsMessage }).transform((value, ctx) => {
  if (typeof value !== "string") return value;
  try {
    const parsed: unknown = parseYaml(value);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Reported below, as for any other text that is not a mapping.
  }
  ctx.addIssue({ code: "custom", message: varsMessage });
  return z.NEVER;
});
const selector = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));
const buildBody = z
  .object({
    command: z.enum(["build", "run", "test", "seed"]).default("build"),
    select: selector.optional(),
    exclude: selector.optional(),
    /** A selector of the project's selectors.yml, in place of select and exclude. */
    selector: z.string().min(1).optional(),
    full_refresh: z.boolean().default(false),
    /** dbt's `--vars`: a mapping, or its YAML or JSON text. */
    vars: varsSchema.optional(),
  })
  .strict();

const summaryOf = (summary: string) => ({ 200: jsonAnswer(summary), ...errors(400, 401, 429) });

modelRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/models/build",
    summary: "dbt build, run, test or seed over a selection",
    request: { body: jsonBody(buildBody) },
    responses: {
      200: jsonAnswer("Every node succeeded"),
      207: jsonAnswer("Some node failed, errored or was skipped"),
      ...errors(400, 401, 415, 429),
    },
  }),
  async (c) => {
    const request = c.req.valid("json");
    const summary = await runModels(c.var.runtime, {
      trigger: "manual",
      command: request.command,
      ...(request.select ? { select: request.select } : {}),
      ...(request.exclude ? { exclude: request.exclude } : {}),
      ...(request.selector ? { selector: request.selector } : {}),
      fullRefresh: request.full_refresh,
      ...(request.vars ? { vars: request.vars } : {}),
    });
    const body = {
      run_id: summary.runId,
      status: summary.status,
      elapsed_time: summary.elapsedMs / 1000,
      results: summary.results.map((r) => ({
        unique_id: r.uniqueId,
        resource_type: r.resourceType,
        status: r.status,
        execution_time: r.executionMs / 1000,
        adapter_response: { rows_affected: r.rowsAffected },
        failures: r.failures,
        message: r.message,
        relation_name: r.relationName ?? null,
      })),
    };
    return summary.status === "success" ? c.json(body, 200) : c.json(body, 207);
  },
);

modelRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/models",
    summary: "Model nodes with config, tests, last status and SLA status; sources with SLA status",
    responses: summaryOf("Nodes"),
  }),
  async (c) => {
    const manifest = getManifest();
    const ids = manifest.nodes.map((n) => n.uniqueId);
    // The newest results, filtered here: one bound parameter per node would pass D1's 100.
    const known = new Set(ids);
    const last = (await drizzle(c.env.DB).select().from(modelResults).orderBy(desc(modelResults.finishedAt)).limit(5000)).filter((r) =>
      known.has(r.uniqueId),
    );
    const lastBy = new Map<string, (typeof last)[number]>();
    for (const row of last) if (!lastBy.has(row.uniqueId)) lastBy.set(row.uniqueId, row);
    const slas = new Map((await slaStatuses(c.env.DB, manifest, new Date())).map((s) => [s.subject, s]));
    const slaStatus = (subject: string | undefined) => {
      const sla = subject === undefined ? undefined : slas.get(subject);
      if (!sla) return null;
      return {
        subject: sla.subject,
        status: sla.verdict === null ? "unknown" : sla.verdict.met ? "met" : "breached",
        last_at: sla.lastAt,
        age_seconds: sla.verdict?.ageSeconds ?? null,
        allowed_seconds: sla.verdict?.allowedSeconds ?? null,
        message: sla.verdict?.message ?? sla.error ?? null,
      };
    };
    return c.json(
      {
        project: manifest.project,
        nodes: manifest.nodes.map((node) => ({
          unique_id: node.uniqueId,
          resource_type: node.resourceType,
          name: node.name,
          path: node.path,
          relation: node.relation,
          description: node.description,
          config: node.config,
          depends_on: node.dependsOn,
          tests: manifest.nodes
            .filter((t) => t.resourceType === "test" && t.dependsOn.nodes.includes(node.uniqueId))
            .map((t) => t.uniqueId),
          last_status: lastBy.get(node.uniqueId)?.status ?? null,
          last_run_id: lastBy.get(node.uniqueId)?.runId ?? null,
          sla_status: node.config.sla ? slaStatus(`model:${node.uniqueId}`) : null,
        })),
        sources: manifest.sources.map((source) => ({ ...source, sla_status: slaStatus(source.slaSubject) })),
      },
      200,
    );
  },
);

modelRoutes.openapi(
  createRoute({ method: "get", path: "/v1/freshness", summary: "Source freshness", responses: summaryOf("Freshness checks") }),
  async (c) => c.json({ sources: await drizzle(c.env.DB).select().from(sourceFreshness) }, 200),
);

modelRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/runs",
    summary: "Model runs",
    request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }) },
    responses: summaryOf("Runs, newest first"),
  }),
  async (c) => {
    const { limit } = c.req.valid("query");
    const runs = await drizzle(c.env.DB).select().from(modelRuns).orderBy(desc(modelRuns.startedAt)).limit(limit);
    return c.json({ runs }, 200);
  },
);

modelRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/runs/{runId}",
    summary: "One model run with its per-node results",
    request: { params: z.object({ runId: z.string() }) },
    responses: { ...summaryOf("The run and its results"), ...errors(404) },
  }),
  async (c) => {
    const { runId } = c.req.valid("param");
    const db = drizzle(c.env.DB);
    const [run] = await db.select().from(modelRuns).where(eq(modelRuns.runId, runId));
    if (!run) throw new SluiceError("not_found", `no model run ${runId}`);
    const results = await db.select().from(modelResults).where(eq(modelResults.runId, runId));
    return c.json({ run, results }, 200);
  },
);
