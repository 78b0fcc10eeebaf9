/**
 * `GET /v1/health`: 200 when every binding the pipeline needs is present and D1 has Sluice's
 * tables; 503 otherwise, naming what is missing. Unauthenticated, and says nothing secret.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createRouter } from "../http/routers.ts";

export const healthRoutes = createRouter("public");

const healthSchema = z.object({
  status: z.enum(["ok", "unavailable"]),
  bindings: z.record(z.string(), z.boolean()),
  migrations: z.boolean(),
});

const health = createRoute({
  method: "get",
  path: "/v1/health",
  summary: "Bindings and migrations",
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: healthSchema } } },
    503: { description: "A binding or Sluice's tables are missing", content: { "application/json": { schema: healthSchema } } },
  },
});

healthRoutes.openapi(health, async (c) => {
  const env = c.env as Partial<Env>;
  const bindings = {
    DB: typeof env.DB?.prepare === "function",
    RAW: typeof env.RAW?.put === "function",
    INGEST: typeof env.INGEST?.send === "function",
    PULL: typeof env.PULL?.send === "function",
  };
  const migrations = bindings.DB ? await migrationsApplied(env.DB!) : false;
  const ok = Object.values(bindings).every(Boolean) && migrations;
  return ok
    ? c.json({ status: "ok" as const, bindings, migrations }, 200)
    : c.json({ status: "unavailable" as const, bindings, migrations }, 503);
});

async function migrationsApplied(db: D1Database): Promise<boolean> {
  try {
    const row = await db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = '_sluice_loads'").first<number>("n");
    return row === 1;
  } catch {
    return false;
  }
}
