/**
 * The incidents' part of the ops API (ADMIN_TOKENS): `GET /v1/incidents` lists them, open first
 * and then newest first, in keyset pages; `POST /v1/incidents/{id}/ack` records that someone is on
 * one; `POST /v1/incidents/{id}/mute` silences its notifications (and its subject's next
 * incidents) until a time, or unmutes with `{"until": null}`. Every kind can be acked and muted.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { type Incident, incidentKinds, incidents } from "../db/schema.ts";
import { errors, jsonAnswer, jsonBody } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { SluiceError } from "../lib/errors.ts";
import { ackIncident, incidentView, muteIncident } from "./incidents.ts";

export const incidentRoutes = createRouter("admin");

const listQuery = z.object({
  status: z.enum(["open", "resolved"]).optional(),
  kind: z.enum(incidentKinds).optional(),
  subject: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});
const idParam = z.object({ id: z.string() });
const muteBody = z.object({
  /** When notifications resume; null unmutes. */
  until: z.iso.datetime({ offset: true }).nullable(),
});

/** 1 for open, 0 for resolved: the listing's first sort key. */
const openRank = sql<number>`(${incidents.status} = 'open')`;

const cursorOf = (i: Incident) => btoa(JSON.stringify([i.status === "open" ? 1 : 0, i.openedAt, i.id]));
const cursorSchema = z.tuple([z.union([z.literal(0), z.literal(1)]), z.string(), z.string()]);
function afterCursor(cursor: string) {
  let rank: 0 | 1;
  let openedAt: string;
  let id: string;
  try {
    [rank, openedAt, id] = cursorSchema.parse(JSON.parse(atob(cursor)));
  } catch {
    throw new SluiceError("bad_request", 'parameter "cursor" is not a cursor this listing gave out');
  }
  return or(
    lt(openRank, rank),
    and(eq(openRank, rank), or(lt(incidents.openedAt, openedAt), and(eq(incidents.openedAt, openedAt), lt(incidents.id, id)))),
  );
}

function found(incident: Incident | undefined, id: string): Incident {
  if (!incident) throw new SluiceError("not_found", `no incident ${id}`);
  return incident;
}

const baseUrl = (publicUrl: string | undefined) => publicUrl?.replace(/\/$/, "") ?? "";

incidentRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/incidents",
    summary: "Incidents of every kind, open first, then newest first, with the cursor of the next page",
    request: { query: listQuery },
    responses: { 200: jsonAnswer("Incidents"), ...errors(400, 401, 429) },
  }),
  async (c) => {
    const { status, kind, subject, limit, cursor } = c.req.valid("query");
    const rows = await drizzle(c.env.DB)
      .select()
      .from(incidents)
      .where(
        and(
          status === undefined ? undefined : eq(incidents.status, status),
          kind === undefined ? undefined : eq(incidents.kind, kind),
          subject === undefined ? undefined : eq(incidents.subject, subject),
          cursor === undefined ? undefined : afterCursor(cursor),
        ),
      )
      .orderBy(desc(openRank), desc(incidents.openedAt), desc(incidents.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const base = baseUrl(c.var.runtime.settings.publicUrl);
    return c.json(
      {
        incidents: page.map((incident) => incidentView(incident, base)),
        next_cursor: rows.length > limit ? cursorOf(page[page.length - 1]!) : null,
      },
      200,
    );
  },
);

incidentRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/incidents/{id}/ack",
    summary: "Acknowledge an incident: someone is on it (the first ack's time is kept)",
    request: { params: idParam },
    responses: { 200: jsonAnswer("The incident"), ...errors(401, 404, 429) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const incident = found(await ackIncident(c.env.DB, id), id);
    c.var.runtime.log.info("incident.acked", { id, kind: incident.kind, subject: incident.subject });
    return c.json({ incident: incidentView(incident, baseUrl(c.var.runtime.settings.publicUrl)) }, 200);
  },
);

incidentRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/incidents/{id}/mute",
    summary: "Mute an incident's notifications, and its subject's next incidents', until a time; `null` unmutes",
    request: { params: idParam, body: jsonBody(muteBody) },
    responses: { 200: jsonAnswer("The incident"), ...errors(400, 401, 404, 415, 429) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { until } = c.req.valid("json");
    const normalized = until === null ? null : new Date(until).toISOString();
    if (normalized !== null && normalized <= new Date().toISOString()) {
      throw new SluiceError("bad_request", `until must be in the future (got ${until})`);
    }
    const incident = found(await muteIncident(c.env.DB, id, normalized), id);
    c.var.runtime.log.info("incident.muted", { id, kind: incident.kind, subject: incident.subject, until: normalized });
    return c.json({ incident: incidentView(incident, baseUrl(c.var.runtime.settings.publicUrl)) }, 200);
  },
);
