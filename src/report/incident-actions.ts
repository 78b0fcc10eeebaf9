/**
 * The data-quality page's buttons, behind the dashboard's session (and its same-origin check):
 * `POST /ui/incidents/:id/ack` and `POST /ui/incidents/:id/mute` with the form field `for` (`1h`,
 * `4h`, `24h`, `7d`, or `off` to unmute). They do what `POST /v1/incidents/:id/ack` and `/mute` do,
 * through the same functions, and answer with a redirect back to the page saying what was done.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createRouter } from "../http/routers.ts";
import { SluiceError } from "../lib/errors.ts";
import { ackIncident, type Incident, muteIncident, qualityPath } from "../ops/incidents.ts";
import { formatTime } from "./chart-geometry.ts";
import { muteChoices } from "./incident-list.tsx";

export const incidentActionRoutes = createRouter("session");

const params = z.object({ id: z.string() });
const muteForm = z.object({ for: z.enum([...(Object.keys(muteChoices) as (keyof typeof muteChoices)[]), "off"]) });

const action = (path: string) =>
  createRoute({
    method: "post",
    path,
    hide: true,
    request: { params },
    responses: { 303: { description: "Back to the data-quality page" } },
  });

function found(incident: Incident | undefined, id: string): Incident {
  if (!incident) throw new SluiceError("not_found", `no incident ${id}`);
  return incident;
}

const done = (message: string) => `${qualityPath}?done=${encodeURIComponent(message)}`;

incidentActionRoutes.openapi(action("/ui/incidents/{id}/ack"), async (c) => {
  const { id } = c.req.valid("param");
  const incident = found(await ackIncident(c.env.DB, id), id);
  c.var.runtime.log.info("incident.acked", { id, kind: incident.kind, subject: incident.subject, via: "dashboard" });
  return c.redirect(done(`Acked ${incident.kind} incident on ${incident.subject}`), 303);
});

incidentActionRoutes.openapi(action("/ui/incidents/{id}/mute"), async (c) => {
  const { id } = c.req.valid("param");
  const parsed = muteForm.safeParse(await c.req.parseBody());
  if (!parsed.success) throw new SluiceError("bad_request", z.prettifyError(parsed.error));
  const choice = parsed.data.for;
  const until = choice === "off" ? null : new Date(Date.now() + muteChoices[choice]).toISOString();
  const incident = found(await muteIncident(c.env.DB, id, until), id);
  c.var.runtime.log.info("incident.muted", { id, kind: incident.kind, subject: incident.subject, until, via: "dashboard" });
  const what = until === null ? "Unmuted" : `Muted until ${formatTime(until)}:`;
  return c.redirect(done(`${what} ${incident.kind} incident on ${incident.subject}`), 303);
});
