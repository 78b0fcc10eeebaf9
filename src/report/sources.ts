/**
 * `GET /v1/sources` (ADMIN_TOKENS): the console's table of sources as JSON, for operators and
 * the `sluice` CLI. It spans the webhook and pull stages and reads the same stream health as the
 * dashboard, so it lives with the dashboard's data rather than in either stage.
 */
import { createRoute } from "@hono/zod-openapi";
import { authSecretNames } from "../config/index.ts";
import { errors, jsonAnswer } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { rawTableName } from "../lib/sql.ts";
import { loadStreamHealth } from "./dashboard-data.ts";

export const sourceRoutes = createRouter("admin");

const listSources = createRoute({
  method: "get",
  path: "/v1/sources",
  summary: "Every webhook and pull source with its streams, tables and health",
  responses: { 200: jsonAnswer("Sources"), ...errors(401, 429) },
});

/**
 * Every webhook and pull source: where it is reached, whether its secrets are set (never their
 * values), and per stream its table, typing, write disposition and health (the dashboard's
 * numbers: deliveries over 24 hours, last load, accepted, loaded, quarantined, dead-lettered).
 */
sourceRoutes.openapi(listSources, async (c) => {
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
  return c.json({ sources }, 200);
});
