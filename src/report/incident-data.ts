/**
 * The incidents the console lists, read from `_sluice_incidents` in the order `GET /v1/incidents`
 * gives them (open first, then newest first), and which of them a dashboard card is about. In: D1,
 * a card's subject. Out: incident rows; nothing here changes one (acks and mutes are
 * incident-actions.ts).
 */
import { desc, eq, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type Incident, incidents } from "../db/schema.ts";
import type { ChartSubject } from "./monitor-data.ts";

const openFirst = [desc(sql`(${incidents.status} = 'open')`), desc(incidents.openedAt), desc(incidents.id)];

/** Every open incident and the newest resolved ones, `resolved` of them at most. */
export async function consoleIncidents(d1: D1Database, resolved: number): Promise<{ open: Incident[]; resolved: Incident[] }> {
  const db = drizzle(d1);
  const [open, recent] = await db.batch([
    db
      .select()
      .from(incidents)
      .where(eq(incidents.status, "open"))
      .orderBy(...openFirst),
    db
      .select()
      .from(incidents)
      .where(eq(incidents.status, "resolved"))
      .orderBy(...openFirst)
      .limit(resolved),
  ]);
  return { open, resolved: recent };
}

/** A monitor's incidents (its chart is theirs, or it is their subject), open first, then newest first. */
export async function monitorIncidents(d1: D1Database, monitorId: string, limit: number): Promise<Incident[]> {
  return drizzle(d1)
    .select()
    .from(incidents)
    .where(or(eq(incidents.monitorId, monitorId), eq(incidents.subject, monitorId)))
    .orderBy(...openFirst)
    .limit(limit);
}

/**
 * Whether an incident is about a card's subject: named by it (`source/stream`, a source table
 * `source.stream`, a model's or one of its tests' unique ids, `model:<id>`), or charted by one of
 * its monitors (a stream's monitors share the prefix `stream:<source>.<stream>:`).
 */
export function isAbout(subject: ChartSubject, incident: Incident): boolean {
  if (subject.names.includes(incident.subject)) return true;
  const charted = [incident.monitorId, incident.subject].filter((id): id is string => id !== null);
  return charted.some(
    (id) => subject.charts.some((c) => c.monitorId === id) || (subject.monitorPrefix !== undefined && id.startsWith(subject.monitorPrefix)),
  );
}
