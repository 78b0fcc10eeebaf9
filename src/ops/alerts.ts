/**
 * Alerts: one notification when an incident opens and one when it resolves, never one per cron
 * tick. Incidents live in `_sluice_alerts`, keyed by kind and subject; opening one that is open,
 * or resolving one that is not, changes nothing and sends nothing. Delivery is a POST of
 * Slack-compatible JSON (`{ "text": … }`) to each rule's webhook, with a link to the dashboard.
 */
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { alerts } from "../db/schema.ts";
import type { Runtime } from "../env.ts";

export type AlertKind = (typeof alerts.$inferSelect)["kind"];

export interface Incident {
  kind: AlertKind;
  subject: string;
  message: string;
}

/** Opens an incident, and notifies if it was not already open. */
export async function raiseAlert(runtime: Runtime, incident: Incident): Promise<boolean> {
  const now = new Date().toISOString();
  const opened = await drizzle(runtime.env.DB)
    .insert(alerts)
    .values({ ...incident, status: "open", openedAt: now, notifications: 1 })
    .onConflictDoUpdate({
      target: [alerts.kind, alerts.subject],
      set: { status: "open", message: incident.message, openedAt: now, resolvedAt: null, notifications: sql`${alerts.notifications} + 1` },
      setWhere: sql`${alerts.status} = 'resolved'`,
    })
    .returning({ kind: alerts.kind });
  if (opened.length === 0) return false;
  runtime.log.error("alert.opened", { kind: incident.kind, subject: incident.subject, message: incident.message });
  await notify(runtime, incident.kind, `:rotating_light: Sluice ${label(incident.kind)}: ${incident.subject}. ${incident.message}`);
  return true;
}

/** Resolves an open incident, and notifies that it cleared. */
export async function resolveAlert(runtime: Runtime, kind: AlertKind, subject: string, message: string): Promise<boolean> {
  const resolved = await drizzle(runtime.env.DB)
    .update(alerts)
    .set({ status: "resolved", resolvedAt: new Date().toISOString(), message, notifications: sql`${alerts.notifications} + 1` })
    .where(and(eq(alerts.kind, kind), eq(alerts.subject, subject), eq(alerts.status, "open")))
    .returning({ kind: alerts.kind });
  if (resolved.length === 0) return false;
  runtime.log.info("alert.resolved", { kind, subject });
  await notify(runtime, kind, `:white_check_mark: Resolved: Sluice ${label(kind)}: ${subject}. ${message}`);
  return true;
}

/** The subjects of a kind's open incidents, so a check can resolve those that have cleared. */
export async function openSubjects(runtime: Runtime, kind: AlertKind): Promise<string[]> {
  const rows = await drizzle(runtime.env.DB)
    .select({ subject: alerts.subject })
    .from(alerts)
    .where(and(eq(alerts.kind, kind), eq(alerts.status, "open")));
  return rows.map((row) => row.subject);
}

async function notify(runtime: Runtime, kind: AlertKind, text: string): Promise<void> {
  const dashboard = runtime.settings.publicUrl ? `${runtime.settings.publicUrl.replace(/\/$/, "")}/` : undefined;
  for (const rule of runtime.config.alerts) {
    if (!rule.on.includes(kind)) continue;
    const url = runtime.settings.secrets[rule.webhook]?.[0];
    if (!url) {
      runtime.log.warn("alert.unconfigured", { kind, env: rule.webhook });
      continue;
    }
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: dashboard ? `${text} <${dashboard}|Open the dashboard>` : text }),
      });
      if (!response.ok) runtime.log.warn("alert.delivery_failed", { kind, status: response.status });
    } catch (error) {
      runtime.log.warn("alert.delivery_failed", { kind, error });
    }
  }
}

function label(kind: AlertKind): string {
  return {
    test_failed: "test failed",
    freshness_error: "source is stale",
    load_failed: "load failing",
    dead_letter: "dead letters",
    pull_failed: "pull failed",
    key_conflict: "key reused with another body",
  }[kind];
}

/**
 * Resolves load, dead-letter and key-conflict incidents whose condition has cleared: a stream that
 * has loaded since its incident opened, a stream with no open dead letters left, and a stream with
 * no key conflict for an hour (so a new one notifies again). Run on every cron tick, so the hot
 * paths never pay for it.
 */
export async function sweepAlerts(runtime: Runtime): Promise<void> {
  const db = drizzle(runtime.env.DB);
  const open = await db.select().from(alerts).where(eq(alerts.status, "open"));
  for (const incident of open) {
    const [source, stream] = incident.subject.split("/");
    if (incident.kind === "load_failed") {
      const loaded = await runtime.env.DB.prepare(
        "SELECT 1 FROM _sluice_loads WHERE source = ?1 AND stream = ?2 AND started_at > ?3 LIMIT 1",
      )
        .bind(source, stream, incident.openedAt)
        .first();
      if (loaded) await resolveAlert(runtime, "load_failed", incident.subject, "the stream is loading again");
    } else if (incident.kind === "dead_letter") {
      const left = await runtime.env.DB.prepare(
        "SELECT count(*) AS n FROM _sluice_dead_letters WHERE status = 'open' AND coalesce(source, '') || '/' || coalesce(stream, '') = ?1",
      )
        .bind(incident.subject)
        .first<number>("n");
      if (!left) await resolveAlert(runtime, "dead_letter", incident.subject, "every dead letter has been redriven");
    } else if (incident.kind === "key_conflict") {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const recent = await runtime.env.DB.prepare(
        "SELECT 1 FROM _sluice_loads WHERE source = ?1 AND stream = ?2 AND started_at > ?3 AND key_conflicts > 0 LIMIT 1",
      )
        .bind(source, stream, since)
        .first();
      if (!recent) await resolveAlert(runtime, "key_conflict", incident.subject, "no key conflicts for an hour");
    }
  }
}
