/**
 * `GET /v1/health`: 200 when every binding the pipeline needs is present and D1 has Sluice's
 * tables; 503 otherwise, naming what is missing. Unauthenticated, and says nothing secret.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

export const healthRoutes = new Hono<AppEnv>();

healthRoutes.get("/v1/health", async (c) => {
  const env = c.env as Partial<Env>;
  const bindings = {
    DB: typeof env.DB?.prepare === "function",
    RAW: typeof env.RAW?.put === "function",
    INGEST: typeof env.INGEST?.send === "function",
    PULL: typeof env.PULL?.send === "function",
  };
  const migrations = bindings.DB ? await migrationsApplied(env.DB!) : false;
  const ok = Object.values(bindings).every(Boolean) && migrations;
  return c.json({ status: ok ? "ok" : "unavailable", bindings, migrations }, ok ? 200 : 503);
});

async function migrationsApplied(db: D1Database): Promise<boolean> {
  try {
    const row = await db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = '_sluice_loads'").first<number>("n");
    return row === 1;
  } catch {
    return false;
  }
}
