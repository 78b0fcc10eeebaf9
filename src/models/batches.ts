/**
 * Microbatch windows. In: a microbatch model's config and the run's time. Out: the batches the
 * run builds, each [start, end) of `batch_size` in UTC, as `YYYY-MM-DD HH:MM:SS` text (the form
 * SQLite's datetime() gives, so bounds compare as text).
 */
import type { ManifestNode } from "./manifest-schema.ts";

type BatchSize = NonNullable<ManifestNode["config"]["batch_size"]>;

export interface Batch {
  start: string;
  end: string;
}

function truncate(time: Date, size: BatchSize): Date {
  const t = new Date(Date.UTC(time.getUTCFullYear(), 0, 1));
  if (size === "year") return t;
  t.setUTCMonth(time.getUTCMonth());
  if (size === "month") return t;
  t.setUTCDate(time.getUTCDate());
  if (size === "day") return t;
  t.setUTCHours(time.getUTCHours());
  return t;
}

function offset(time: Date, size: BatchSize, count: number): Date {
  const t = new Date(time);
  if (size === "year") t.setUTCFullYear(t.getUTCFullYear() + count);
  else if (size === "month") t.setUTCMonth(t.getUTCMonth() + count);
  else if (size === "day") t.setUTCDate(t.getUTCDate() + count);
  else t.setUTCHours(t.getUTCHours() + count);
  return t;
}

/** `begin` as the Date parser reads it: a bare date, or a timestamp without a zone, is UTC. */
export function beginIso(begin: string): string {
  const value = begin.trim().replace(" ", "T");
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return `${value}T00:00:00Z`;
  return /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`;
}

const sqliteTime = (time: Date) => time.toISOString().slice(0, 19).replace("T", " ");

/** The batches a run processes: from `begin` (a full build) or the lookback's start (an incremental run), to the batch holding `now`. */
export function batchesFor(config: ManifestNode["config"], now: Date, incremental: boolean): Batch[] {
  const size = config.batch_size!;
  const first = incremental
    ? offset(truncate(now, size), size, -(config.lookback ?? 1))
    : truncate(new Date(beginIso(config.begin!)), size);
  const batches: Batch[] = [];
  for (let start = first; start <= now; start = offset(start, size, 1))
    batches.push({ start: sqliteTime(start), end: sqliteTime(offset(start, size, 1)) });
  return batches;
}
