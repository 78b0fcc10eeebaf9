/**
 * Source freshness, after `dbt source freshness`: for each source table with a `freshness`
 * block, the age of its newest `loaded_at_field` (by default `_sluice_received_at`) against
 * `warn_after` and `error_after`. Results are stored in `_sluice_source_freshness`; an error is
 * logged at error level, which alerting picks up.
 */
import { drizzle } from "drizzle-orm/d1";
import { sourceFreshness } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { isIdentifier, quoteIdent } from "../lib/sql.ts";
import { openIncident, resolveIncident } from "../ops/incidents.ts";
import { periodSeconds } from "../quality/sla.ts";
import type { Manifest, SourceTable } from "./manifest-schema.ts";

export type FreshnessResult = typeof sourceFreshness.$inferInsert;

export async function checkFreshness(runtime: Runtime, manifest: Manifest, now = new Date()): Promise<FreshnessResult[]> {
  const results: FreshnessResult[] = [];
  for (const table of manifest.sources) {
    if (!table.freshness || (!table.freshness.warn_after && !table.freshness.error_after)) continue;
    results.push(await checkTable(runtime.env.DB, table, now));
  }
  if (results.length === 0) return results;
  const db = drizzle(runtime.env.DB);
  const [first, ...rest] = results.map((result) =>
    db
      .insert(sourceFreshness)
      .values(result)
      .onConflictDoUpdate({ target: [sourceFreshness.source, sourceFreshness.table], set: result }),
  );
  await db.batch([first!, ...rest]);
  for (const result of results) {
    const subject = `${result.source}.${result.table}`;
    if (result.status === "error" || result.status === "runtime error") {
      runtime.log.error("freshness.error", { ...result });
      await openIncident(runtime, {
        kind: "freshness_error",
        subject,
        message: result.message ?? `the newest record is ${result.ageSeconds} s old`,
      });
    } else {
      if (result.status === "warn") runtime.log.warn("freshness.warn", { ...result });
      await resolveIncident(runtime, "freshness_error", subject, "the source is fresh again");
    }
  }
  return results;
}

/**
 * The newest `loaded_at_field` of a source table (by default when its newest record was received),
 * among the rows `filter` keeps; null when it has none. Source SLAs (ops/slas.ts) read it too.
 */
export async function newestLoadedAt(db: D1Database, table: SourceTable, filter?: string): Promise<string | null> {
  if (!isIdentifier(table.loadedAtField)) throw new Error(`loaded_at_field "${table.loadedAtField}" is not a column name`);
  // The filter is SQL from the project's own YAML, as in dbt. The column is qualified: SQLite reads an
  // unqualified "name" that is no column as a string, and the newest record would be that text.
  const where = filter ? ` WHERE ${filter}` : "";
  return db
    .prepare(`SELECT max(t.${quoteIdent(table.loadedAtField)}) AS at FROM ${quoteIdent(table.relation)} AS t${where}`)
    .first<string | null>("at");
}

async function checkTable(db: D1Database, table: SourceTable, now: Date): Promise<FreshnessResult> {
  const freshness = table.freshness!;
  const warnAfter = freshness.warn_after ? freshness.warn_after.count * periodSeconds[freshness.warn_after.period] : null;
  const errorAfter = freshness.error_after ? freshness.error_after.count * periodSeconds[freshness.error_after.period] : null;
  const base = {
    source: table.source,
    table: table.table,
    warnAfterSeconds: warnAfter,
    errorAfterSeconds: errorAfter,
    checkedAt: now.toISOString(),
  };
  let maxLoadedAt: string | null;
  try {
    maxLoadedAt = await newestLoadedAt(db, table, freshness.filter);
  } catch (error) {
    return { ...base, status: "runtime error", message: (error as Error).message };
  }
  if (maxLoadedAt === null)
    return { ...base, status: errorAfter !== null ? "error" : "warn", message: "no rows have been loaded", maxLoadedAt: null };
  const age = Math.max(0, Math.round((now.getTime() - Date.parse(maxLoadedAt)) / 1000));
  const status = errorAfter !== null && age > errorAfter ? "error" : warnAfter !== null && age > warnAfter ? "warn" : "pass";
  return { ...base, status, maxLoadedAt, ageSeconds: age, message: null };
}
