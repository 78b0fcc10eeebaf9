/**
 * The pull stage's part of the ops API (ADMIN_TOKENS): `GET /v1/pulls` lists runs with their
 * source, stream, pages, records, duration and error, and each stream's committed cursor;
 * `POST /v1/pulls/:source/:stream/run` starts (or resumes) a run now.
 */

import { desc } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { pullRuns, pullState } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { requireToken } from "../lib/auth.ts";
import { startPull } from "./planner.ts";

export const pullRoutes = new Hono<AppEnv>();

pullRoutes.use("/v1/pulls", requireToken("admin"));
pullRoutes.use("/v1/pulls/*", requireToken("admin"));

pullRoutes.get("/v1/pulls", async (c) => {
  const db = drizzle(c.env.DB);
  const limit = Math.min(500, Math.max(1, Number(c.req.query("limit") ?? 50) || 50));
  const [runs, cursors] = await Promise.all([
    db.select().from(pullRuns).orderBy(desc(pullRuns.startedAt)).limit(limit),
    db.select().from(pullState),
  ]);
  return c.json({
    runs: runs.map(({ seen: _seen, nextPage, ...run }) => ({
      ...run,
      nextPage: (nextPage as { page?: number } | null)?.page ?? null,
      durationMs: run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null,
    })),
    cursors,
  });
});

pullRoutes.post("/v1/pulls/:source/:stream/run", async (c) => {
  const outcome = await startPull(c.var.runtime, c.req.param("source"), c.req.param("stream"), "manual");
  if (!outcome.started) return c.json({ started: false, reason: outcome.reason, activeRun: outcome.runId }, 409);
  return c.json(
    {
      started: true,
      runId: outcome.run.runId,
      trigger: outcome.run.trigger,
      page: outcome.run.pages + 1,
      resumedFrom: outcome.resumedFrom ?? null,
    },
    202,
  );
});
