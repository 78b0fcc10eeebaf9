/**
 * The model stage's part of the ops API (ADMIN_TOKENS): `POST /v1/models/build` runs dbt's
 * build (or run, test, seed) over a selection; `GET /v1/models` lists the nodes with their
 * config, tests and last status; `GET /v1/freshness` the latest source freshness checks.
 */
import { zValidator } from "@hono/zod-validator";
import { desc } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { z } from "zod";
import { modelResults, sourceFreshness } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { requireToken } from "../lib/auth.ts";
import { SluiceError } from "../lib/errors.ts";
import { getManifest } from "./manifest.ts";
import { runModels } from "./runner.ts";

export const modelRoutes = new Hono<AppEnv>();

for (const path of ["/v1/models", "/v1/models/*", "/v1/freshness"]) modelRoutes.use(path, requireToken("admin"));

const selector = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));
export const buildBody = z
  .object({
    command: z.enum(["build", "run", "test", "seed"]).default("build"),
    select: selector.optional(),
    exclude: selector.optional(),
    full_refresh: z.boolean().default(false),
  })
  .strict();

modelRoutes.post(
  "/v1/models/build",
  zValidator("json", buildBody, (result) => {
    if (!result.success) throw new SluiceError("bad_request", z.prettifyError(result.error));
  }),
  async (c) => {
    const body = c.req.valid("json");
    const summary = await runModels(c.var.runtime, {
      trigger: "manual",
      command: body.command,
      ...(body.select ? { select: body.select } : {}),
      ...(body.exclude ? { exclude: body.exclude } : {}),
      fullRefresh: body.full_refresh,
    });
    return c.json(
      {
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
        })),
      },
      summary.status === "success" ? 200 : 207,
    );
  },
);

modelRoutes.get("/v1/models", async (c) => {
  const manifest = getManifest();
  const ids = manifest.nodes.map((n) => n.uniqueId);
  // The newest results, filtered here: one bound parameter per node would pass D1's 100.
  const known = new Set(ids);
  const last = (await drizzle(c.env.DB).select().from(modelResults).orderBy(desc(modelResults.finishedAt)).limit(5000)).filter((r) =>
    known.has(r.uniqueId),
  );
  const lastBy = new Map<string, (typeof last)[number]>();
  for (const row of last) if (!lastBy.has(row.uniqueId)) lastBy.set(row.uniqueId, row);
  return c.json({
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
      tests: manifest.nodes.filter((t) => t.resourceType === "test" && t.dependsOn.nodes.includes(node.uniqueId)).map((t) => t.uniqueId),
      last_status: lastBy.get(node.uniqueId)?.status ?? null,
      last_run_id: lastBy.get(node.uniqueId)?.runId ?? null,
    })),
    sources: manifest.sources,
  });
});

modelRoutes.get("/v1/freshness", async (c) => {
  const rows = await drizzle(c.env.DB).select().from(sourceFreshness);
  return c.json({ sources: rows });
});
