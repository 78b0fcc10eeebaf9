/**
 * Materializations on D1, which has no BEGIN, no temp tables and no `CREATE TABLE … AS (…)`.
 * A table is built beside the old one and swapped in by one batch (a transaction), so readers
 * see the old table or the new one, never a half-built one. A view is replaced in one batch.
 */
import { quoteIdent } from "../lib/sql.ts";
import type { ModelConfig } from "./project.ts";

export interface Materialized {
  rowsAffected: number | null;
}

export async function materialize(
  db: D1Database,
  name: string,
  materialized: ModelConfig["materialized"],
  sql: string,
): Promise<Materialized> {
  const target = quoteIdent(name);
  const dropExisting = await dropStatement(db, name);
  if (materialized === "view") {
    await db.batch([...dropExisting, db.prepare(`CREATE VIEW ${target} AS ${sql}`)]);
    return { rowsAffected: null };
  }
  const staging = quoteIdent(`${name}__sluice_new`);
  await db.batch([db.prepare(`DROP TABLE IF EXISTS ${staging}`), db.prepare(`CREATE TABLE ${staging} AS ${sql}`)]);
  const count = await db.prepare(`SELECT count(*) AS n FROM ${staging}`).first<number>("n");
  await db.batch([...dropExisting, db.prepare(`ALTER TABLE ${staging} RENAME TO ${target}`)]);
  return { rowsAffected: count ?? 0 };
}

/** The statement that removes whatever relation now holds `name` (a table or a view). */
async function dropStatement(db: D1Database, name: string): Promise<D1PreparedStatement[]> {
  const existing = await db
    .prepare("SELECT type FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')")
    .bind(name)
    .first<string>("type");
  if (existing === null) return [];
  return [db.prepare(`DROP ${existing === "view" ? "VIEW" : "TABLE"} ${quoteIdent(name)}`)];
}
