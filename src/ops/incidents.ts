/**
 * Incidents: one kind of record for everything that alerts (test failures, load and pull failures,
 * dead letters, key conflicts, stale sources, anomalies, SLA breaches). In: the stages' and the
 * monitors' calls to open an incident while a condition holds and to resolve it once it clears,
 * and the ops API's acks and mutes. Out: rows in `_sluice_incidents` and one notification when an
 * incident opens and one when it resolves, never one per check.
 *
 * Opening one that is open refreshes what it says (message, value, expected range, last seen) and
 * sends nothing; resolving one that is not open changes nothing. A resolved incident stays as
 * history, and the subject's next one is a new row. A mute silences an incident's notifications
 * until its time, and carries to the subject's next incident while it lasts, so a flapping
 * monitor stays quiet; an ack only records that someone is on it.
 */
import { and, desc, eq, gt, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type Incident, type IncidentKind, incidents } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { timeOrderedId } from "../lib/ids.ts";
import { notifyIncident } from "./notify.ts";

export type { Incident, IncidentKind } from "../db/schema.ts";
export { chartPath, incidentView, qualityPath } from "./notify.ts";

export interface IncidentInput {
  kind: IncidentKind;
  subject: string;
  message: string;
  value?: number | null;
  expectedLow?: number | null;
  expectedHigh?: number | null;
  monitorId?: string | null;
}

export const newIncidentId = (now?: number) => `inc_${timeOrderedId(now)}`;

/** Opens an incident, or refreshes the open one; notifies only when it opened (and is not muted). Returns whether it opened. */
export async function openIncident(runtime: Runtime, input: IncidentInput, now: Date = new Date()): Promise<boolean> {
  const db = drizzle(runtime.env.DB);
  const at = now.toISOString();
  const measured = {
    message: input.message,
    value: input.value ?? null,
    expectedLow: input.expectedLow ?? null,
    expectedHigh: input.expectedHigh ?? null,
    lastSeenAt: at,
  };
  const [previous] = await db
    .select({ mutedUntil: incidents.mutedUntil })
    .from(incidents)
    .where(and(eq(incidents.kind, input.kind), eq(incidents.subject, input.subject), gt(incidents.mutedUntil, at)))
    .orderBy(desc(incidents.openedAt))
    .limit(1);
  const id = newIncidentId(now.getTime());
  const monitorId = input.monitorId ?? streamChart(input);
  const [row] = await db
    .insert(incidents)
    .values({
      id,
      kind: input.kind,
      subject: input.subject,
      monitorId: monitorId ?? null,
      status: "open",
      openedAt: at,
      mutedUntil: previous?.mutedUntil ?? null,
      ...measured,
    })
    .onConflictDoUpdate({ target: [incidents.kind, incidents.subject], targetWhere: sql`status = 'open'`, set: measured })
    .returning();
  if (!row || row.id !== id) return false;
  runtime.log.error("incident.opened", { id, kind: input.kind, subject: input.subject, message: input.message });
  if (!muted(row, at)) await notified(runtime, row, "opened");
  return true;
}

/** Resolves the open incident of a kind and subject, and notifies that it cleared (unless muted). Returns whether one was open. */
export async function resolveIncident(
  runtime: Runtime,
  kind: IncidentKind,
  subject: string,
  resolution: string,
  now: Date = new Date(),
): Promise<boolean> {
  const at = now.toISOString();
  const [row] = await drizzle(runtime.env.DB)
    .update(incidents)
    .set({ status: "resolved", resolvedAt: at, resolution })
    .where(and(eq(incidents.kind, kind), eq(incidents.subject, subject), eq(incidents.status, "open")))
    .returning();
  if (!row) return false;
  runtime.log.info("incident.resolved", { id: row.id, kind, subject });
  if (!muted(row, at)) await notified(runtime, row, "resolved");
  return true;
}

/** The subjects of a kind's open incidents, so a check can resolve those that have cleared. */
export async function openSubjects(runtime: Runtime, kind: IncidentKind): Promise<string[]> {
  const rows = await drizzle(runtime.env.DB)
    .select({ subject: incidents.subject })
    .from(incidents)
    .where(and(eq(incidents.kind, kind), eq(incidents.status, "open")));
  return rows.map((row) => row.subject);
}

/** Every open incident, oldest first. */
export async function openIncidents(d1: D1Database): Promise<Incident[]> {
  return drizzle(d1).select().from(incidents).where(eq(incidents.status, "open")).orderBy(incidents.openedAt);
}

/** Records an acknowledgement (the first one counts); undefined when there is no such incident. */
export async function ackIncident(d1: D1Database, id: string, now: Date = new Date()): Promise<Incident | undefined> {
  const [row] = await drizzle(d1)
    .update(incidents)
    .set({ ackedAt: sql`coalesce(${incidents.ackedAt}, ${now.toISOString()})` })
    .where(eq(incidents.id, id))
    .returning();
  return row;
}

/** Mutes an incident's notifications until a time (null unmutes); undefined when there is no such incident. */
export async function muteIncident(d1: D1Database, id: string, until: string | null): Promise<Incident | undefined> {
  const [row] = await drizzle(d1).update(incidents).set({ mutedUntil: until }).where(eq(incidents.id, id)).returning();
  return row;
}

/** Stream incidents (`source/stream`: a failing load or pull, dead letters, a reused key) are charted by the stream's volume. */
function streamChart({ kind, subject }: IncidentInput): string | undefined {
  if (kind !== "load_failed" && kind !== "pull_failed" && kind !== "dead_letter" && kind !== "key_conflict") return undefined;
  const [source, stream, ...rest] = subject.split("/");
  return source && stream && rest.length === 0 ? `stream:${source}.${stream}:volume` : undefined;
}

const muted = (incident: Incident, at: string) => incident.mutedUntil !== null && incident.mutedUntil > at;

async function notified(runtime: Runtime, incident: Incident, event: "opened" | "resolved"): Promise<void> {
  if (!(await notifyIncident(runtime, incident, event))) return;
  await drizzle(runtime.env.DB)
    .update(incidents)
    .set({ notifications: sql`${incidents.notifications} + 1` })
    .where(eq(incidents.id, incident.id));
}
