/**
 * A stream's schema changes per hour: the columns schema evolution gave its table that it never had
 * before, new fields and variant columns (`<col>__v_<type>`, for a value its column's type cannot
 * hold) alike. A change is not a matter of statistics: every hour with one, after the stream's
 * first (which creates the table), is anomalous; the expected range is 0 to 0, and the bucket's
 * detail names the columns, e.g. `added coupon (text); added amount__v_text (text, a variant of amount)`.
 *
 * Read from the schema history (`_sluice_schema_versions`, one row per load that changed the
 * table's shape). A column counts once, the first time the stream has it: a replace stream builds
 * a fresh staging table on every run, whose first page may lack a field a later page or the last
 * run had, and its coming back is no change.
 *
 * In: the stream, its monitor's last judged bucket, the tick. Out: every complete hour since then,
 * stored with its count of changes; each bucket keeps, in `rows`, the stream's schema version at
 * its end, so the next tick reads only the versions after it.
 */
import { getTableName } from "drizzle-orm";
import { schemaVersions } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";
import type { JudgedBucket } from "../quality/anomaly.ts";
import { hourMs } from "../quality/stats.ts";
import { hourFloor, iso, type Judgement, type MeasuredHour, type Pending } from "./monitor-buckets.ts";

const history = quoteIdent(getTableName(schemaVersions));
const newVersionsSql = `SELECT version, hash, columns, created_at FROM ${history}
WHERE source = ?1 AND stream = ?2 AND version > ?3 AND created_at < ?4 ORDER BY version`;
/** One version of each shape up to `?3`: what the stream's tables have had. */
const earlierShapesSql = `SELECT columns FROM ${history} WHERE source = ?1 AND stream = ?2 AND version IN
  (SELECT min(version) FROM ${history} WHERE source = ?1 AND stream = ?2 AND version <= ?3 GROUP BY hash)`;

interface Version {
  version: number;
  hash: string;
  columns: string;
  created_at: string;
}
type Column = { name: string; type: string };
const columnKey = (c: Column) => `${c.name}\u0000${c.type}`;

/** Judges the stream's complete hours since its last judged schema bucket: any change is anomalous. */
export async function judgeSchema(pending: Pending): Promise<Judgement[]> {
  const { d1, id, source, stream, last, judgedUntil, endMs } = pending;
  const seenVersion = last?.rows ?? 0;
  const { results: versions } = await d1.prepare(newVersionsSql).bind(source, stream, seenVersion, iso(endMs)).all<Version>();
  // Backfilling starts at the stream's first version: the hour that created its table, never judged.
  const fromMs = judgedUntil ?? (versions[0] ? hourFloor(Date.parse(versions[0].created_at)) + hourMs : undefined);
  if (fromMs === undefined) return [];

  const known = new Set<string>();
  if (versions.length > 0 && seenVersion > 0) {
    const { results } = await d1.prepare(earlierShapesSql).bind(source, stream, seenVersion).all<{ columns: string }>();
    for (const shape of results) for (const c of JSON.parse(shape.columns) as Column[]) known.add(columnKey(c));
  }
  const changes = new Map<number, string[]>();
  const versionAt = new Map<number, number>();
  for (const v of versions) {
    const hour = hourFloor(Date.parse(v.created_at));
    const columns = JSON.parse(v.columns) as Column[];
    const added = columns.filter((c) => !known.has(columnKey(c)));
    for (const c of added) known.add(columnKey(c));
    versionAt.set(hour, v.version);
    if (hour >= fromMs && added.length > 0) changes.set(hour, [...(changes.get(hour) ?? []), ...added.map((c) => describe(c, columns))]);
  }

  const measured: MeasuredHour[] = [];
  const judged: JudgedBucket[] = [];
  // Each bucket keeps the version at its end: the first judged hour starts from the versions before it.
  let version = seenVersion;
  for (const v of versions) if (Date.parse(v.created_at) < fromMs) version = v.version;
  for (let startMs = fromMs; startMs < endMs; startMs += hourMs) {
    version = versionAt.get(startMs) ?? version;
    const change = changes.get(startMs);
    const value = change?.length ?? 0;
    measured.push({ startMs, value, rows: version, detail: change ? change.join("; ") : null });
    judged.push({
      start: iso(startMs),
      end: iso(startMs + hourMs),
      value,
      expectedLow: 0,
      expectedHigh: 0,
      z: null,
      anomalous: value > 0,
      seasonality: null,
      trainingSize: 0,
      reason: null,
    });
  }
  return [{ id, judged, measured }];
}

/** `added coupon (text)`; a variant column says which column's values it holds. */
function describe(column: Column, columns: readonly Column[]): string {
  const variant = /^(.+)__v_[a-z]+$/.exec(column.name);
  const of = variant && columns.some((c) => c.name === variant[1]) ? `, a variant of ${variant[1]}` : "";
  return `added ${column.name} (${column.type}${of})`;
}
