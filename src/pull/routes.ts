/**
 * The pull stage's part of the ops API (ADMIN_TOKENS): `GET /v1/pulls` lists runs with their
 * source, stream, pages, records, duration and error, and each stream's committed cursor;
 * `POST /v1/pulls/:source/:stream/run` starts (or resumes) a run now.
 */
import { createRoute } from "@hono/zod-openapi";
import { desc } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { pullRuns, pullState } from "../db/schema.ts";
import { errors, jsonAnswer } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { startPull } from "./planner.ts";

export const pullRoutes = createRouter("admin");

const listRuns = createRoute({
  method: "get",
  path: "/v1/pulls",
  summary: "Pull runs and cursors",
  responses: { 200: jsonAnswer("Runs, newest first, and each stream's committed cursor"), ...errors(401, 429) },
});

const runNow = createRoute({
  method: "post",
  path: "/v1/pulls/{source}/{stream}/run",
  summary: "Start or resume a pull run",
  request: { params: z.object({ source: z.string(), stream: z.string() }) },
  responses: {
    202: jsonAnswer("Started, or resumed from its last page"),
    409: jsonAnswer("A run of this stream is already active"),
    ...errors(400, 401, 404, 429),
  },
});

pullRoutes.openapi(listRuns, async (c) => {
  const db = drizzle(c.env.DB);
  const limit = Math.min(500, Math.max(1, Number(c.req.query("limit") ?? 50) || 50));
  const [runs, cursors] = await Promise.all([
    db.select().from(pullRuns).orderBy(desc(pullRuns.startedAt)).limit(limit),
    db.select().from(pullState),
  ]);
  return c.json(
    {
      runs: runs.map(({ nextPage, ...run }) => ({
        ...run,
        nextPage: (nextPage as { page?: number } | null)?.page ?? null,
        durationMs: run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null,
      })),
      cursors,
    },
    200,
  );
});

pullRoutes.openapi(runNow, async (c) => {
  const { source, stream } = c.req.valid("param");
  const outcome = await startPull(c.var.runtime, source, stream, "manual");
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
