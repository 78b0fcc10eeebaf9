/**
 * Materializations on D1, which has no BEGIN, no temp tables and no `CREATE TABLE … AS (…)`.
 * A table is built beside the old one as `__sluice_tmp_<name>` and swapped in by one batch (one
 * transaction), so readers see the old table or the new one, never a half-built one. An
 * incremental model builds its new rows the same way, then deletes and inserts in one batch.
 */
import { columnTypes, sqlTypes } from "../db/column-types.ts";
import { quoteIdent } from "../lib/sql.ts";
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
async function swapIn(db: D1Database, tmp: string, name: string, indexes: readonly string[] = []): Promise<void> {
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

export async function materializeTable(db: D1Database, name: string, sql: string, indexes: readonly string[] = []): Promise<Materialized> {
  const tmp = quoteIdent(tmpName(name));
  await db.batch([db.prepare(`DROP TABLE IF EXISTS ${tmp}`), db.prepare(`CREATE TABLE ${tmp} AS ${sql}`)]);
  const count = await db.prepare(`SELECT count(*) AS n FROM ${tmp}`).first<number>("n");
  await swapIn(db, tmpName(name), name, indexes);
  return { rowsAffected: count ?? 0 };
}

/**
 * Incremental: the new rows go to a staging table; then, in one batch, target rows with the same
 * unique key are deleted and the new rows inserted. Keys compare with IS, so a NULL key replaces
 * the NULL-keyed row instead of piling up duplicates. Without a key, rows are appended.
 */
function uniqueKeys(node: ManifestNode): string[] {
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

export async function materializeIncremental(db: D1Database, node: ManifestNode, sql: string): Promise<Materialized> {
  const name = node.relation;
  const tmp = tmpName(name);
  await db.batch([db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(tmp)}`), db.prepare(`CREATE TABLE ${quoteIdent(tmp)} AS ${sql}`)]);
  const [incoming, existing] = await Promise.all([columnsOf(db, tmp), columnsOf(db, name)]);
  const newColumns = incoming.filter((c) => !existing.some((e) => e.name === c.name));
  const statements: D1PreparedStatement[] = [];
  if (newColumns.length > 0) {
    if (node.config.on_schema_change === "fail") {
      await db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(tmp)}`).run();
      throw new Error(`new columns ${newColumns.map((c) => c.name).join(", ")} and on_schema_change is fail`);
    }
    if (node.config.on_schema_change === "append_new_columns") {
      for (const column of newColumns)
        statements.push(db.prepare(`ALTER TABLE ${quoteIdent(name)} ADD COLUMN ${quoteIdent(column.name)} ${column.type}`));
    }
  }
  // `ignore` (the default) drops new columns; `append_new_columns` has just added them.
  const target =
    node.config.on_schema_change === "append_new_columns" ? incoming : incoming.filter((c) => existing.some((e) => e.name === c.name));
  const list = target.map((c) => quoteIdent(c.name)).join(", ");
  const keys = uniqueKeys(node);
  if (keys.length > 0) {
    // Row-value IN finds the rows to replace through the key index; IN never matches NULL, so
    // NULL-keyed rows are matched with IS, and replaced rather than duplicated.
    const keyList = keys.map(quoteIdent).join(", ");
    const nulls = keys.map((k) => `t.${quoteIdent(k)} IS ${quoteIdent(name)}.${quoteIdent(k)}`).join(" AND ");
    const anyNull = keys.map((k) => `${quoteIdent(name)}.${quoteIdent(k)} IS NULL`).join(" OR ");
    statements.push(
      db.prepare(
        `DELETE FROM ${quoteIdent(name)} WHERE (${keyList}) IN (SELECT ${keyList} FROM ${quoteIdent(tmp)})
         OR ((${anyNull}) AND EXISTS (SELECT 1 FROM ${quoteIdent(tmp)} AS t WHERE ${nulls}))`,
      ),
    );
  }
  statements.unshift(...indexStatements(node).map((sql) => db.prepare(sql)));
  statements.push(db.prepare(`INSERT INTO ${quoteIdent(name)} (${list}) SELECT ${list} FROM ${quoteIdent(tmp)}`));
  statements.push(db.prepare(`DROP TABLE ${quoteIdent(tmp)}`));
  const results = await db.batch(statements);
  return { rowsAffected: results.at(-2)?.meta.changes ?? 0 };
}

async function columnsOf(db: D1Database, table: string): Promise<{ name: string; type: string }[]> {
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

/**
 * A snapshot, dbt's SCD2 with the `timestamp` strategy: each version of a row keeps
 * `dbt_valid_from` and `dbt_valid_to` (NULL for the current one), plus `dbt_scd_id` and
 * `dbt_updated_at`. A row whose `updated_at` moved closes its current version and opens a new
 * one, in one batch.
 */
export async function materializeSnapshot(db: D1Database, node: ManifestNode, sql: string): Promise<Materialized> {
  const name = node.relation;
  const tmp = tmpName(name);
  const keys = Array.isArray(node.config.unique_key) ? node.config.unique_key : [node.config.unique_key!];
  const updatedAt = quoteIdent(node.config.updated_at!);
  const keyOf = (alias: string) => keys.map((k) => `coalesce(CAST(${alias}.${quoteIdent(k)} AS TEXT), '')`).join(" || '|' || ");
  const sameKey = (a: string, b: string) => keys.map((k) => `${a}.${quoteIdent(k)} IS ${b}.${quoteIdent(k)}`).join(" AND ");
  const meta = (alias: string) =>
    `${keyOf(alias)} || '|' || CAST(${alias}.${updatedAt} AS TEXT) AS dbt_scd_id, ${alias}.${updatedAt} AS dbt_updated_at, ${alias}.${updatedAt} AS dbt_valid_from, CAST(NULL AS TEXT) AS dbt_valid_to`;

  await db.batch([db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(tmp)}`), db.prepare(`CREATE TABLE ${quoteIdent(tmp)} AS ${sql}`)]);
  if ((await relationType(db, name)) !== "table") {
    await db.batch([
      db.prepare(`CREATE TABLE ${quoteIdent(name)} AS SELECT s.*, ${meta("s")} FROM ${quoteIdent(tmp)} AS s`),
      db.prepare(`DROP TABLE ${quoteIdent(tmp)}`),
    ]);
    return { rowsAffected: (await db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(name)}`).first<number>("n")) ?? 0 };
  }
  const columns = (await columnsOf(db, tmp)).map((c) => c.name);
  const target = quoteIdent(name);
  const source = quoteIdent(tmp);
  const list = columns.map(quoteIdent).join(", ");
  const results = await db.batch([
    // Close the current version of every row that changed.
    db.prepare(
      `UPDATE ${target} SET dbt_valid_to = (SELECT s.${updatedAt} FROM ${source} AS s WHERE ${sameKey("s", target)})
       WHERE dbt_valid_to IS NULL AND EXISTS (SELECT 1 FROM ${source} AS s WHERE ${sameKey("s", target)} AND s.${updatedAt} > ${target}.dbt_updated_at)`,
    ),
    // Open a version for every row without a current one: new rows, and those just closed.
    db.prepare(
      `INSERT INTO ${target} (${list}, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
       SELECT ${columns.map((c) => `s.${quoteIdent(c)}`).join(", ")}, ${meta("s")} FROM ${source} AS s
       WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${sameKey("t", "s")} AND t.dbt_valid_to IS NULL)`,
    ),
    db.prepare(`DROP TABLE ${source}`),
  ]);
  return { rowsAffected: (results[0]?.meta.changes ?? 0) + (results[1]?.meta.changes ?? 0) };
}
