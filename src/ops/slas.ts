/**
 * SLAs, judged on every cron tick, beside dbt's freshness (which judges each check and stays as it
 * is). In: each SLA's status now (models/sla-status.ts). Out: one incident of kind `sla` per
 * breached subject (`source:<source>`, `source:<source>.<table>`, `model:<unique_id>`), with the
 * age as its value and the age the SLA allows as its expected high: opened when it breaches,
 * refreshed while it lasts, resolved when the SLA is met again or no longer declared.
 */
import type { IncidentKind } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import type { Manifest } from "../models/manifest-schema.ts";
import { type SlaStatus, slaStatuses } from "../models/sla-status.ts";
import { openIncident, openSubjects, resolveIncident } from "./incidents.ts";

const kind: IncidentKind = "sla";

/**
 * Judges every SLA and keeps its incident in step: a breach opens one (or refreshes the open one's
 * age and message), a met SLA resolves it, and so does an SLA the project no longer declares.
 */
export async function checkSlas(runtime: Runtime, manifest: Manifest, now: Date = new Date()): Promise<SlaStatus[]> {
  const statuses = await slaStatuses(runtime.env.DB, manifest, now);
  const open = new Set(await openSubjects(runtime, kind));
  for (const { subject, verdict, error } of statuses) {
    if (!verdict) runtime.log.warn("sla.unjudged", { subject, error });
    else if (!verdict.met)
      await openIncident(
        runtime,
        { kind, subject, message: verdict.message, value: verdict.ageSeconds, expectedHigh: verdict.allowedSeconds },
        now,
      );
    else if (open.has(subject)) await resolveIncident(runtime, kind, subject, verdict.message, now);
    open.delete(subject);
  }
  for (const subject of open) await resolveIncident(runtime, kind, subject, "the project no longer declares this SLA", now);
  return statuses;
}
