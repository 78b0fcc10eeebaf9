/**
 * A stream's volume and quarantine rate per hour. `volume` is the records loaded (a drop, a spike
 * or a silence is anomalous); `quarantine_rate` is quarantined / (loaded + quarantined), judged only
 * in hours with records (only a rise is anomalous: fewer rejections is no incident). Both read the
 * load ledger, which holds the same numbers as the loaded and quarantined counters (a load's
 * counters are its ledger row, counted at its start) but keeps them past the hour after which the
 * counters' minutes are folded away.
 *
 * In: the stream, its monitors' last judged volume bucket, the tick. Out: the complete hours since
 * then, judged and stored. Volume is stored for every complete hour after the first, so its last
 * bucket marks the stream's progress for both.
 */
import { and, eq, gte, lt, min, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { loads } from "../db/schema.ts";
import { judgeSeries } from "../quality/anomaly.ts";
import { hourMs } from "../quality/stats.ts";
import { historyMs, hourlyOptions, iso, type Judgement, type Pending, storedHours } from "./monitor-buckets.ts";

/** Judges the stream's complete hours since its last judged volume bucket, as volume (`pending.id`) and quarantine rate (`rateId`). */
export async function judgeVolume(pending: Pending, rateId: string): Promise<Judgement[]> {
  const { id } = pending;
  const series = await hourlySeries(pending, rateId);
  if (series.length === 0) return [];
  const volume = series.map((h) => ({ startMs: h.startMs, value: h.loaded, rows: h.loaded }));
  const rate = series.map((h) => {
    const rows = h.loaded + h.quarantined;
    return { startMs: h.startMs, value: rows === 0 ? null : h.quarantined / rows, rows };
  });
  return [
    { id, judged: judgeSeries(volume, hourlyOptions(pending, id, { counts: true, silence: true })), measured: volume },
    { id: rateId, judged: judgeSeries(rate, hourlyOptions(pending, rateId, { direction: "spike", proportion: true })), measured: rate },
  ];
}

interface Hour {
  startMs: number;
  loaded: number;
  quarantined: number;
}

/**
 * A stream's loaded and quarantined records per hour, every hour present, up to `endMs`. Backfilling,
 * all of it from the ledger, from its first load. After that, the training window before the first
 * hour still to judge is read back from the judged buckets (each stores the records it measured),
 * and only the new hours, and the stream's first hour (never judged, so never stored), from the ledger.
 */
async function hourlySeries({ d1, id, source, stream, judgedUntil, endMs }: Pending, rateId: string) {
  const db = drizzle(d1);
  const ofStream = and(eq(loads.source, source), eq(loads.stream, stream), eq(loads.status, "loaded"));
  const [first] = await db
    .select({ at: min(loads.startedAt) })
    .from(loads)
    .where(ofStream);
  if (!first?.at) return [];
  const firstHour = Math.floor(Date.parse(first.at) / hourMs) * hourMs;
  const fromMs = judgedUntil === undefined ? firstHour : Math.max(firstHour, judgedUntil - historyMs);
  const sparse = new Map<number, Hour>();
  if (judgedUntil !== undefined) {
    const [volume, rate] = await storedHours(d1, [id, rateId], fromMs, judgedUntil);
    const measured = new Map(rate!.map((b) => [b.startMs, b.rows]));
    for (const b of volume!)
      sparse.set(b.startMs, { startMs: b.startMs, loaded: b.rows, quarantined: (measured.get(b.startMs) ?? b.rows) - b.rows });
  }
  const hour = sql<string>`substr(${loads.startedAt}, 1, 13)`;
  const ledgerHours = (fromHourMs: number, untilHourMs?: number) =>
    db
      .select({ hour, loaded: sql<number>`sum(${loads.inserted})`, quarantined: sql<number>`sum(${loads.quarantined})` })
      .from(loads)
      .where(
        and(ofStream, gte(loads.startedAt, iso(fromHourMs)), untilHourMs === undefined ? undefined : lt(loads.startedAt, iso(untilHourMs))),
      )
      .groupBy(hour);
  const read = judgedUntil === undefined ? [ledgerHours(fromMs)] : [ledgerHours(judgedUntil)];
  if (judgedUntil !== undefined && fromMs === firstHour) read.push(ledgerHours(firstHour, firstHour + hourMs));
  for (const row of (await Promise.all(read)).flat()) {
    const startMs = Date.parse(`${row.hour}:00:00Z`);
    sparse.set(startMs, { startMs, loaded: row.loaded, quarantined: row.quarantined });
  }
  const hours: Hour[] = [];
  for (let startMs = fromMs; startMs < endMs; startMs += hourMs) hours.push(sparse.get(startMs) ?? { startMs, loaded: 0, quarantined: 0 });
  return hours;
}
