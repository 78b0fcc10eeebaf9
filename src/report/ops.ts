/**
 * The ops API (ADMIN_TOKENS): what operators and the `sluice` CLI read to see that nothing was
 * lost. `GET /v1/loads` lists the load ledger, newest first; `GET /v1/runs` the model runs.
 */
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { loads, modelResults, modelRuns } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { requireToken } from "../lib/auth.ts";

export const opsRoutes = new Hono<AppEnv>();

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
