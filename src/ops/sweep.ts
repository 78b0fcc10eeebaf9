/**
 * The every-tick sweep that resolves incidents whose condition cleared where no other check
 * would notice: a stream that has loaded since its load incident opened, a stream with no open
 * dead letters left, and a stream with no key conflict for an hour (so a new one notifies again).
 * In: the open incidents. Out: resolutions (ops/incidents.ts). Run on the cron, so the hot paths
 * never pay for it.
 */
import type { Runtime } from "../env.ts";
import { openIncidents, resolveIncident } from "./incidents.ts";

export async function sweepIncidents(runtime: Runtime): Promise<void> {
  for (const incident of await openIncidents(runtime.env.DB)) {
    const [source, stream] = incident.subject.split("/");
    if (incident.kind === "load_failed") {
      const loaded = await runtime.env.DB.prepare(
        "SELECT 1 FROM _sluice_loads WHERE source = ?1 AND stream = ?2 AND started_at > ?3 LIMIT 1",
      )
        .bind(source, stream, incident.openedAt)
        .first();
      if (loaded) await resolveIncident(runtime, "load_failed", incident.subject, "the stream is loading again");
    } else if (incident.kind === "dead_letter") {
      const left = await runtime.env.DB.prepare(
        "SELECT count(*) AS n FROM _sluice_dead_letters WHERE status = 'open' AND coalesce(source, '') || '/' || coalesce(stream, '') = ?1",
      )
        .bind(incident.subject)
        .first<number>("n");
      if (!left) await resolveIncident(runtime, "dead_letter", incident.subject, "every dead letter has been redriven");
    } else if (incident.kind === "key_conflict") {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const recent = await runtime.env.DB.prepare(
        "SELECT 1 FROM _sluice_loads WHERE source = ?1 AND stream = ?2 AND started_at > ?3 AND key_conflicts > 0 LIMIT 1",
      )
        .bind(source, stream, since)
        .first();
      if (!recent) await resolveIncident(runtime, "key_conflict", incident.subject, "no key conflicts for an hour");
    }
  }
}
