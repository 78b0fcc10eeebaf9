/**
 * Materializations on D1, which has no BEGIN, no temp tables and no `CREATE TABLE … AS (…)`.
 * A table is built beside the old one as `__sluice_tmp_<name>` and swapped in by one batch (one
 * transaction), so readers see the old table or the new one, never a half-built one. Incremental
 * models (incremental.ts) and snapshots (snapshot.ts) stage their new rows the same way, then
 * change the table in one batch.
 */
import { columnTypes, sqlTypes } from "../db/column-types.ts";
import { quoteIdent } from "../lib/sql.ts";
import { assertContract, contractTableSql } from "./contract.ts";
import type { ManifestNode } from "./manifest-schema.ts";

export interface Materialized {
  rowsAffected: number | null;
}

export const tmpName = (relation: string) => `__sluice_tmp_${relation}`;

/**
 * Swaps a freshly built table in for `name`, in one batch. Views over the old table stay as they
 * are: with legacy_alter_table on, SQLite renames without re-checking the views that name the
 * table (which, mid-swap, would fail on the table just dropped).
 */
export async function swapIn(db: D1Database, tmp: string, name: string, indexes: readonly string[] = []): Promise<void> {
  await db.batch([
    db.prepare("PRAGMA legacy_alter_table = ON"),
    ...(await dropStatements(db, name)),
    db.prepare(`ALTER TABLE ${quoteIdent(tmp)} RENAME TO ${quoteIdent(name)}`),
    db.prepare("PRAGMA legacy_alter_table = OFF"),
    // Indexes are built on the renamed table, in the same transaction, under their own names.
    ...indexes.map((sql) => db.prepare(sql)),
  ]);
}

export async function relationType(db: D1Database, name: string): Promise<"table" | "view" | null> {
  const type = await db
    .prepare("SELECT type FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')")
    .bind(name)
    .first<string>("type");
  return type === "table" || type === "view" ? type : null;
}

async function dropStatements(db: D1Database, name: string): Promise<D1PreparedStatement[]> {
  const existing = await relationType(db, name);
  return existing ? [db.prepare(`DROP ${existing === "view" ? "VIEW" : "TABLE"} ${quoteIdent(name)}`)] : [];
}

export async function materializeView(db: D1Database, name: string, sql: string): Promise<Materialized> {
  await db.batch([...(await dropStatements(db, name)), db.prepare(`CREATE VIEW ${quoteIdent(name)} AS ${sql}`)]);
  return { rowsAffected: null };
}

export async function materializeTable(
  db: D1Database,
  name: string,
  sql: string,
  indexes: readonly string[] = [],
  contract?: ManifestNode["contract"],
): Promise<Materialized> {
  if (contract) return materializeContractTable(db, name, sql, indexes, contract);
  const tmp = quoteIdent(tmpName(name));
  await db.batch([db.prepare(`DROP TABLE IF EXISTS ${tmp}`), db.prepare(`CREATE TABLE ${tmp} AS ${sql}`)]);
  const count = await db.prepare(`SELECT count(*) AS n FROM ${tmp}`).first<number>("n");
  await swapIn(db, tmpName(name), name, indexes);
  return { rowsAffected: count ?? 0 };
}

/**
 * A table under an enforced contract: the rows are staged, checked against the contract, then
 * copied into a table created with the declared columns (whose constraints SQLite enforces) and
 * swapped in.
 */
async function materializeContractTable(
  db: D1Database,
  name: string,
  sql: string,
  indexes: readonly string[],
  contract: NonNullable<ManifestNode["contract"]>,
): Promise<Materialized> {
  const staged = await stage(db, `__sluice_stage_${name}`, sql);
  const build = tmpName(name);
  try {
    await assertContract(db, staged, contract);
    const list = contract.columns.map((c) => quoteIdent(c.name)).join(", ");
    const results = await db.batch([
      db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(build)}`),
      db.prepare(contractTableSql(build, contract)),
      db.prepare(`INSERT INTO ${quoteIdent(build)} (${list}) SELECT ${list} FROM ${quoteIdent(staged)}`),
    ]);
    await swapIn(db, build, name, indexes);
    return { rowsAffected: results[2]?.meta.changes ?? 0 };
  } catch (error) {
    // A constraint names the table it failed on: name the model's, not the build table.
    throw new Error((error as Error).message.replaceAll(build, name), { cause: error });
  } finally {
    await db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(staged)}`).run();
  }
}

/** The unique key of an incremental model or snapshot, as a list. */
export function uniqueKeys(node: ManifestNode): string[] {
  const key = node.config.unique_key;
  return key === undefined ? [] : Array.isArray(key) ? key : [key];
}

/**
 * The indexes a table keeps: those the model declares (`indexes`), and for an incremental model
 * its unique key, so that a run finds the rows it replaces without scanning the table.
 */
export function indexStatements(node: ManifestNode): string[] {
  const table = quoteIdent(node.relation);
  const statements = node.config.indexes.map((index) => {
    const name = quoteIdent(`__sluice_idx_${node.relation}_${index.columns.join("_")}`);
    return `CREATE ${index.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${name} ON ${table} (${index.columns.map(quoteIdent).join(", ")})`;
  });
  const keys = node.config.materialized === "incremental" ? uniqueKeys(node) : [];
  if (keys.length > 0)
    statements.push(
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(`__sluice_key_${node.relation}`)} ON ${table} (${keys.map(quoteIdent).join(", ")})`,
    );
  return statements;
}

/** Runs a model's query into a fresh staging table and returns the table's name. */
export async function stage(db: D1Database, table: string, sql: string): Promise<string> {
  await db.batch([db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(table)}`), db.prepare(`CREATE TABLE ${quoteIdent(table)} AS ${sql}`)]);
  return table;
}

export async function columnsOf(db: D1Database, table: string): Promise<{ name: string; type: string }[]> {
  return (await db.prepare("SELECT name, type FROM pragma_table_info(?1)").bind(table).all<{ name: string; type: string }>()).results;
}

/** A seed: its typed rows, loaded whole into a fresh table and swapped in. */
export async function materializeSeed(db: D1Database, node: ManifestNode): Promise<Materialized> {
  const seed = node.seed!;
  const name = node.relation;
  const tmp = quoteIdent(tmpName(name));
  const columns = seed.columns.map((c) => `${quoteIdent(c.name)} ${sqlTypes[columnTypes.includes(c.type) ? c.type : "text"]}`).join(", ");
  const list = seed.columns.map((c) => quoteIdent(c.name)).join(", ");
  const select = seed.columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ");
  const statements = [db.prepare(`DROP TABLE IF EXISTS ${tmp}`), db.prepare(`CREATE TABLE ${tmp} (${columns})`)];
  // Rows go in ~500 KB JSON chunks: three bound parameters a statement, whatever the seed's size.
  let chunk: unknown[][] = [];
  let size = 0;
  const flush = () => {
    if (chunk.length > 0)
      statements.push(db.prepare(`INSERT INTO ${tmp} (${list}) SELECT ${select} FROM json_each(?1)`).bind(JSON.stringify(chunk)));
    chunk = [];
    size = 0;
  };
  for (const row of seed.rows) {
    const length = JSON.stringify(row).length;
    if (size + length > 500_000) flush();
    chunk.push(row);
    size += length;
  }
  flush();
  await db.batch(statements);
  await swapIn(db, tmpName(name), name);
  return { rowsAffected: seed.rows.length };
}
