/**
 * The ops API (ADMIN_TOKENS): what operators and the `sluice` CLI read to see that nothing was
 * lost. `GET /v1/sources` lists every source with its streams, tables and health; `GET
 * /v1/loads` the load ledger, newest first; `GET /v1/runs` the model runs.
 */
import { zValidator } from "@hono/zod-validator";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { z } from "zod";
import { authSecretNames } from "../config/index.ts";
import { loads, modelResults, modelRuns } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { requireToken } from "../lib/auth.ts";
import { SluiceError } from "../lib/errors.ts";
import { rawTableName } from "../lib/sql.ts";
import { loadStreamHealth } from "./dashboard-data.ts";

export const opsRoutes = new Hono<AppEnv>();

opsRoutes.use("/v1/sources", requireToken("admin"));
opsRoutes.use("/v1/loads", requireToken("admin"));
opsRoutes.use("/v1/runs", requireToken("admin"));
opsRoutes.use("/v1/runs/*", requireToken("admin"));

const listQuery = z.object({
  source: z.string().optional(),
  stream: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const validQuery = zValidator("query", listQuery, (result) => {
  if (!result.success) throw new SluiceError("bad_request", z.prettifyError(result.error));
});

/**
 * Every webhook and pull source: where it is reached, whether its secrets are set (never their
 * values), and per stream its table, typing, write disposition and health (the dashboard's
 * numbers: deliveries over 24 hours, last load, accepted, loaded, quarantined, dead-lettered).
 */
opsRoutes.get("/v1/sources", async (c) => {
  const { config, settings } = c.var.runtime;
  const health = new Map((await loadStreamHealth(c.env.DB, config)).map((s) => [`${s.source}/${s.stream}`, s]));
  const streamOf = (
    source: string,
    stream: string,
    declared: { disposition: string; schema?: unknown; contract?: string; description?: string | undefined },
  ) => {
    const h = health.get(`${source}/${stream}`);
    return {
      name: stream,
      description: declared.description ?? null,
      table: rawTableName(source, stream),
      typing: declared.schema ? "schema" : "inferred",
      contract: declared.contract ?? "evolve",
      disposition: declared.disposition,
      deliveries_24h: h?.hourly.reduce((sum, n) => sum + n, 0) ?? 0,
      last_loaded_at: h?.lastReceived ?? null,
      accepted: h?.accepted ?? 0,
      loaded: h?.loaded ?? 0,
      quarantined: h?.quarantined ?? 0,
      dead_lettered: h?.deadLettered ?? 0,
    };
  };
  const secretsSet = (names: readonly string[]) => names.every((name) => (settings.secrets[name] ?? []).length > 0);
  const sources = [
    ...Object.entries(config.sources).map(([name, source]) => ({
      name,
      kind: "webhook" as const,
      provider: source.provider,
      description: source.description ?? null,
      endpoint: `/v1/webhooks/${name}`,
      secrets_configured: secretsSet(source.secrets),
      streams: Object.entries(source.streams).map(([stream, declared]) => ({ ...streamOf(name, stream, declared), match: declared.match })),
    })),
    ...Object.entries(config.pulls).map(([name, source]) => ({
      name,
      kind: "pull" as const,
      provider: "rest",
      description: source.description ?? null,
      endpoint: `/v1/pulls/${name}/{stream}/run`,
      secrets_configured: secretsSet(authSecretNames(source.auth)),
      streams: Object.entries(source.resources).map(([stream, declared]) => ({
        ...streamOf(name, stream, declared),
        schedule: declared.schedule,
        path: declared.path,
      })),
    })),
  ];
  return c.json({ sources });
});

opsRoutes.get("/v1/loads", validQuery, async (c) => {
  const { source, stream, limit } = c.req.valid("query");
  const filters = [source ? eq(loads.source, source) : undefined, stream ? eq(loads.stream, stream) : undefined];
  const rows = await drizzle(c.env.DB)
    .select()
    .from(loads)
    .where(and(...filters))
    .orderBy(desc(loads.startedAt))
    .limit(limit);
  return c.json({ loads: rows });
});

opsRoutes.get("/v1/runs", validQuery, async (c) => {
  const { limit } = c.req.valid("query");
  const runs = await drizzle(c.env.DB).select().from(modelRuns).orderBy(desc(modelRuns.startedAt)).limit(limit);
  return c.json({ runs });
});

opsRoutes.get("/v1/runs/:runId", async (c) => {
  const runId = c.req.param("runId");
  const db = drizzle(c.env.DB);
  const [run] = await db.select().from(modelRuns).where(eq(modelRuns.runId, runId));
  if (!run) throw new SluiceError("not_found", `no model run ${runId}`);
  const results = await db.select().from(modelResults).where(eq(modelResults.runId, runId));
  return c.json({ run, results });
});
