/**
 * What the operations console shows, read from D1 in one batch: per source and stream the last
 * 24 hours of deliveries by hour, the last record received, what was accepted, loaded,
 * quarantined and dead-lettered; freshness; the last model runs; the last pull runs.
 */
import { declaredStreams, type SluiceConfig } from "../config/index.ts";

export interface StreamHealth {
  source: string;
  stream: string;
  hourly: number[];
  lastReceived: string | null;
  accepted: number;
  loaded: number;
  quarantined: number;
  deadLettered: number;
}

export interface DashboardData {
  streams: StreamHealth[];
  freshness: { source: string; table: string; status: string; ageSeconds: number | null; checkedAt: string }[];
  runs: { runId: string; status: string; startedAt: string; elapsedMs: number | null; failures: number; skipped: number; errors: number }[];
  pulls: {
    runId: string;
    source: string;
    stream: string;
    status: string;
    pages: number;
    records: number;
    error: string | null;
    startedAt: string;
  }[];
}

export async function loadDashboard(db: D1Database, config: SluiceConfig, now = new Date()): Promise<DashboardData> {
  const [hourly, loads, dead, freshness, runs, pulls] = await db.batch([
    ...streamStatements(db, now),
    db.prepare(
      'SELECT source, table_name AS "table", status, age_seconds AS ageSeconds, checked_at AS checkedAt FROM _sluice_source_freshness ORDER BY 1, 2',
    ),
    db.prepare(
      `SELECT r.run_id AS runId, r.status, r.started_at AS startedAt, r.elapsed_ms AS elapsedMs,
         (SELECT count(*) FROM _sluice_model_results m WHERE m.run_id = r.run_id AND m.status IN ('fail', 'warn')) AS failures,
         (SELECT count(*) FROM _sluice_model_results m WHERE m.run_id = r.run_id AND m.status = 'skipped') AS skipped,
         (SELECT count(*) FROM _sluice_model_results m WHERE m.run_id = r.run_id AND m.status = 'error') AS errors
       FROM _sluice_model_runs r ORDER BY r.started_at DESC LIMIT 8`,
    ),
    db.prepare(
      "SELECT run_id AS runId, source, stream, status, pages, records, error, started_at AS startedAt FROM _sluice_pull_runs ORDER BY started_at DESC LIMIT 8",
    ),
  ]);
  return {
    streams: streamHealth(config, now, [hourly!, loads!, dead!]),
    freshness: freshness!.results as DashboardData["freshness"],
    runs: runs!.results as DashboardData["runs"],
    pulls: pulls!.results as DashboardData["pulls"],
  };
}

/** The per-stream half of the dashboard alone (for `GET /v1/sources`). */
export async function loadStreamHealth(db: D1Database, config: SluiceConfig, now = new Date()): Promise<StreamHealth[]> {
  const [hourly, loads, dead] = await db.batch(streamStatements(db, now));
  return streamHealth(config, now, [hourly!, loads!, dead!]);
}

/** Deliveries by hour over 24 hours, the load ledger's totals and open dead letters, per stream. */
function streamStatements(db: D1Database, now: Date): D1PreparedStatement[] {
  const since = new Date(now.getTime() - 23 * 3_600_000).toISOString().slice(0, 13);
  return [
    db
      .prepare(
        "SELECT source, stream, hour, sum(count) AS n FROM _sluice_webhook_counts WHERE outcome = 'accepted' AND hour >= ?1 GROUP BY 1, 2, 3",
      )
      .bind(since),
    db.prepare(
      "SELECT source, stream, sum(CASE WHEN kind = 'ingest' THEN records ELSE 0 END) AS accepted, sum(inserted) AS loaded, sum(quarantined) AS quarantined, max(finished_at) AS last FROM _sluice_loads GROUP BY 1, 2",
    ),
    db.prepare("SELECT source, stream, count(*) AS n FROM _sluice_dead_letters WHERE status = 'open' GROUP BY 1, 2"),
  ];
}

function streamHealth(config: SluiceConfig, now: Date, [hourly, loads, dead]: [D1Result, D1Result, D1Result]): StreamHealth[] {
  const key = (r: { source: unknown; stream: unknown }) => `${r.source}/${r.stream}`;
  const hours = Array.from({ length: 24 }, (_, i) => new Date(now.getTime() - (23 - i) * 3_600_000).toISOString().slice(0, 13));
  const byHour = new Map<string, number[]>();
  for (const row of hourly.results as { source: string; stream: string; hour: string; n: number }[]) {
    const series = byHour.get(key(row)) ?? Array(24).fill(0);
    const index = hours.indexOf(row.hour);
    if (index >= 0) series[index] += row.n;
    byHour.set(key(row), series);
  }
  const loadBy = new Map(
    (loads.results as { source: string; stream: string; accepted: number; loaded: number; quarantined: number; last: string | null }[]).map(
      (r) => [key(r), r],
    ),
  );
  const deadBy = new Map((dead.results as { source: string; stream: string; n: number }[]).map((r) => [key(r), r.n]));
  return declaredStreams(config).map(({ source, stream }) => {
    const id = `${source}/${stream}`;
    const load = loadBy.get(id);
    return {
      source,
      stream,
      hourly: byHour.get(id) ?? Array(24).fill(0),
      lastReceived: load?.last ?? null,
      accepted: load?.accepted ?? 0,
      loaded: load?.loaded ?? 0,
      quarantined: load?.quarantined ?? 0,
      deadLettered: deadBy.get(id) ?? 0,
    };
  });
}
