/**
 * The load stage's part of the ops API (ADMIN_TOKENS): reconciliation, replay from the raw zone,
 * and the redrive of quarantined records and dead letters. Bodies are validated with zod; each
 * action answers with what it queued.
 */
import { zValidator } from "@hono/zod-validator";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { z } from "zod";
import { deadLetters, quarantine } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { requireToken } from "../lib/auth.ts";
import { SluiceError } from "../lib/errors.ts";
import { redriveDeadLetters } from "./dead-letters.ts";
import { openRowFilterSchema } from "./open-rows.ts";
import { protectMessageBody, quarantineRowForView } from "./protect.ts";
import { retryQuarantined } from "./quarantine.ts";
import { reconcile } from "./reconcile.ts";
import { daysBetween, planReplay } from "./replay.ts";

export const loadRoutes = new Hono<AppEnv>();

for (const path of ["/v1/reconcile", "/v1/replay", "/v1/quarantine", "/v1/quarantine/*", "/v1/dead-letters", "/v1/dead-letters/*"]) {
  loadRoutes.use(path, requireToken("admin"));
}

const invalid = (result: { success: boolean; error?: z.core.$ZodError }) => {
  if (!result.success) throw new SluiceError("bad_request", z.prettifyError(result.error!));
};

/** The listings' filters; every one given applies (AND). */
const listQuery = z.object({
  source: z.string().optional(),
  stream: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export const quarantineQuery = listQuery.extend({ status: z.enum(quarantine.status.enumValues).optional() });
export const deadLetterQuery = listQuery.extend({ status: z.enum(deadLetters.status.enumValues).optional() });

loadRoutes.get("/v1/reconcile", async (c) => c.json(await reconcile(c.var.runtime)));

export const replayBody = z
  .object({
    source: z.string(),
    stream: z.string().optional(),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
  })
  .refine((r) => Date.parse(r.from) <= Date.parse(r.to), { message: "from must not be after to", path: ["to"] });

loadRoutes.post("/v1/replay", zValidator("json", replayBody, invalid), async (c) => {
  const request = c.req.valid("json");
  const source = c.var.runtime.config.sources[request.source];
  if (!source || !Object.hasOwn(c.var.runtime.config.sources, request.source)) {
    throw new SluiceError("unknown_source", `no source named "${request.source}"`);
  }
  if (request.stream && !Object.hasOwn(source.streams, request.stream)) {
    throw new SluiceError("bad_request", `source "${request.source}" has no stream "${request.stream}"`);
  }
  const from = new Date(request.from).toISOString();
  const to = new Date(request.to).toISOString();
  daysBetween(from, to);
  const tasks = await planReplay(c.var.runtime, { source: request.source, stream: request.stream, from, to });
  return c.json({ queued: tasks.length, tasks: tasks.map(({ source, stream, day }) => ({ source, stream, day })) }, 202);
});

// Records are shown with their stream's redact and hash applied, whenever they were stored.
loadRoutes.get("/v1/quarantine", zValidator("query", quarantineQuery, invalid), async (c) => {
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
  return c.json({ quarantine: await Promise.all(rows.map((row) => quarantineRowForView(c.var.runtime, row))) });
});

loadRoutes.post("/v1/quarantine/retry", zValidator("json", openRowFilterSchema, invalid), async (c) => {
  return c.json(await retryQuarantined(c.var.runtime, c.req.valid("json")), 202);
});

loadRoutes.get("/v1/dead-letters", zValidator("query", deadLetterQuery, invalid), async (c) => {
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
  return c.json({ dead_letters: shown });
});

loadRoutes.post("/v1/dead-letters/redrive", zValidator("json", openRowFilterSchema, invalid), async (c) => {
  return c.json({ redriven: await redriveDeadLetters(c.var.runtime, c.req.valid("json")) }, 202);
});
