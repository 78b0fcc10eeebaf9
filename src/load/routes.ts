/**
 * The load stage's part of the ops API (ADMIN_TOKENS): the load ledger, reconciliation, replay
 * from the raw zone, and the redrive of quarantined records and dead letters. Each route is
 * declared once, with the schema that validates it and documents it in `/openapi.json`; each
 * action answers with what it queued.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { deadLetters, loads, quarantine } from "../db/schema.ts";
import { errors, jsonAnswer, jsonBody } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { redriveDeadLetters } from "./dead-letters.ts";
import { openRowFilterSchema } from "./open-rows.ts";
import { protectMessageBody, quarantineRowForView } from "./protect.ts";
import { retryQuarantined } from "./quarantine.ts";
import { reconcile } from "./reconcile.ts";
import { planReplay } from "./replay.ts";

export const loadRoutes = createRouter("admin");

/** The listings' filters; every one given applies (AND). */
const listQuery = z.object({
  source: z.string().optional(),
  stream: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const quarantineQuery = listQuery.extend({ status: z.enum(quarantine.status.enumValues).optional() });
const deadLetterQuery = listQuery.extend({ status: z.enum(deadLetters.status.enumValues).optional() });

const replayBody = z
  .object({
    source: z.string(),
    stream: z.string().optional(),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
  })
  .refine((r) => Date.parse(r.from) <= Date.parse(r.to), { message: "from must not be after to", path: ["to"] });

const read = <Q extends z.ZodObject>(path: string, summary: string, query: Q) =>
  createRoute({
    method: "get",
    path,
    summary,
    request: { query },
    responses: { 200: jsonAnswer(summary), ...errors(400, 401, 429) },
  });

const act = <T extends z.ZodType>(path: string, summary: string, body: T) =>
  createRoute({
    method: "post",
    path,
    summary,
    request: { body: jsonBody(body) },
    responses: { 202: jsonAnswer(summary), ...errors(400, 401, 415, 429) },
  });

loadRoutes.openapi(read("/v1/loads", "The load ledger", listQuery), async (c) => {
  const { source, stream, limit } = c.req.valid("query");
  const filters = [source ? eq(loads.source, source) : undefined, stream ? eq(loads.stream, stream) : undefined];
  const rows = await drizzle(c.env.DB)
    .select()
    .from(loads)
    .where(and(...filters))
    .orderBy(desc(loads.startedAt))
    .limit(limit);
  return c.json({ loads: rows }, 200);
});

loadRoutes.openapi(read("/v1/reconcile", "Accepted, loaded, quarantined and dead-lettered, per stream", z.object({})), async (c) =>
  c.json(await reconcile(c.var.runtime), 200),
);

loadRoutes.openapi(act("/v1/replay", "Replay the raw zone over a time range", replayBody), async (c) => {
  const tasks = await planReplay(c.var.runtime, c.req.valid("json"));
  return c.json({ queued: tasks.length, tasks: tasks.map(({ source, stream, day }) => ({ source, stream, day })) }, 202);
});

// Records are shown with their stream's redact and hash applied, whenever they were stored.
loadRoutes.openapi(
  read("/v1/quarantine", "Quarantined records, redacted and hashed as their streams say; every filter given applies", quarantineQuery),
  async (c) => {
    const { source, stream, status, limit } = c.req.valid("query");
    const rows = await drizzle(c.env.DB)
      .select()
      .from(quarantine)
      .where(
        and(
          source !== undefined ? eq(quarantine.source, source) : undefined,
          stream !== undefined ? eq(quarantine.stream, stream) : undefined,
          status !== undefined ? eq(quarantine.status, status) : undefined,
        ),
      )
      .orderBy(desc(quarantine.id))
      .limit(limit);
    return c.json({ quarantine: await Promise.all(rows.map((row) => quarantineRowForView(c.var.runtime, row))) }, 200);
  },
);

loadRoutes.openapi(act("/v1/quarantine/retry", "Re-drive quarantined records", openRowFilterSchema), async (c) =>
  c.json(await retryQuarantined(c.var.runtime, c.req.valid("json")), 202),
);

loadRoutes.openapi(
  read(
    "/v1/dead-letters",
    "Dead letters, their payloads redacted and hashed as their streams say; every filter given applies",
    deadLetterQuery,
  ),
  async (c) => {
    const { source, stream, status, limit } = c.req.valid("query");
    const rows = await drizzle(c.env.DB)
      .select()
      .from(deadLetters)
      .where(
        and(
          source !== undefined ? eq(deadLetters.source, source) : undefined,
          stream !== undefined ? eq(deadLetters.stream, stream) : undefined,
          status !== undefined ? eq(deadLetters.status, status) : undefined,
        ),
      )
      .orderBy(desc(deadLetters.id))
      .limit(limit);
    const shown = await Promise.all(
      rows.map(async (row) => ({ ...row, body: String(await protectMessageBody(c.var.runtime, row.body, "mask")) })),
    );
    return c.json({ dead_letters: shown }, 200);
  },
);

loadRoutes.openapi(act("/v1/dead-letters/redrive", "Re-enqueue dead letters", openRowFilterSchema), async (c) =>
  c.json({ redriven: await redriveDeadLetters(c.var.runtime, c.req.valid("json")) }, 202),
);
