/**
 * Incident notifications: a POST to each alert rule's webhook whose `on` names the incident's
 * kind. The body is Slack-compatible (`text`, with a link to the incident's chart or the
 * data-quality page) and carries the incident itself under `incident`, for receivers that
 * route on fields. A failed delivery is logged and never fails the work that raised it.
 */
import type { Incident, IncidentKind } from "../db/schema.ts";
import type { Runtime } from "../env.ts";

/** The console page that charts a monitor, and the one that lists incidents: notifications link to them. */
export const chartPath = (monitorId: string) => `/monitors/${encodeURIComponent(monitorId)}`;
export const qualityPath = "/quality";

const labels: Record<IncidentKind, string> = {
  test_failed: "test failed",
  freshness_error: "source is stale",
  load_failed: "load failing",
  dead_letter: "dead letters",
  pull_failed: "pull failed",
  key_conflict: "key reused with another body",
  anomaly: "anomaly",
  sla: "SLA breached",
};

/** Posts to every rule that wants the incident's kind; returns whether any did. */
export async function notifyIncident(runtime: Runtime, incident: Incident, event: "opened" | "resolved"): Promise<boolean> {
  const rules = runtime.config.alerts.filter((rule) => rule.on.includes(incident.kind));
  if (rules.length === 0) return false;
  const base = runtime.settings.publicUrl?.replace(/\/$/, "");
  const link = `${base}${incident.monitorId ? chartPath(incident.monitorId) : qualityPath}`;
  const what = `Sluice ${labels[incident.kind]}: ${incident.subject}.`;
  const text =
    event === "opened"
      ? `:rotating_light: ${what} ${incident.message}`
      : `:white_check_mark: Resolved after ${lasted(incident)}: ${what} ${incident.resolution ?? ""}`.trimEnd();
  const body = JSON.stringify({
    text: base ? `${text} <${link}|${incident.monitorId ? "Open the chart" : "Open the dashboard"}>` : text,
    incident: { event, ...incidentView(incident, base) },
  });
  for (const rule of rules) {
    const url = runtime.settings.secrets[rule.webhook]?.[0];
    if (!url) {
      runtime.log.warn("alert.unconfigured", { kind: incident.kind, env: rule.webhook });
      continue;
    }
    try {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      if (!response.ok) runtime.log.warn("alert.delivery_failed", { kind: incident.kind, status: response.status });
    } catch (error) {
      runtime.log.warn("alert.delivery_failed", { kind: incident.kind, error });
    }
  }
  return true;
}

/** An incident as the API and notifications show it; `base` makes the chart link absolute. */
export function incidentView(incident: Incident, base = "", now: Date = new Date()) {
  return {
    id: incident.id,
    kind: incident.kind,
    subject: incident.subject,
    status: incident.status,
    message: incident.message,
    resolution: incident.resolution,
    value: incident.value,
    expected_low: incident.expectedLow,
    expected_high: incident.expectedHigh,
    monitor: incident.monitorId,
    chart: incident.monitorId ? `${base}${chartPath(incident.monitorId)}` : null,
    opened_at: incident.openedAt,
    last_seen_at: incident.lastSeenAt,
    resolved_at: incident.resolvedAt,
    duration_seconds: durationSeconds(incident, now),
    acked_at: incident.ackedAt,
    muted_until: incident.mutedUntil,
    muted: incident.mutedUntil !== null && incident.mutedUntil > now.toISOString(),
    notifications: incident.notifications,
  };
}

/** How long an incident lasted, for people: `3h 5m`, `42s`. */
export function lasted(incident: Incident, now: Date = new Date()): string {
  const seconds = durationSeconds(incident, now);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Seconds from opening to resolving, or to now while open. */
const durationSeconds = (incident: Incident, now: Date) =>
  Math.max(0, Math.round((Date.parse(incident.resolvedAt ?? now.toISOString()) - Date.parse(incident.openedAt)) / 1000));
