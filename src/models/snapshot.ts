/**
 * Snapshots, dbt's SCD2. In: the snapshot's query, staged in a table, and its config. Out: the
 * snapshot table changed in one batch. Each version of a row keeps dbt's meta columns:
 * `dbt_scd_id` (the key and the version's time, `key|time`: D1 has no md5), `dbt_updated_at`,
 * `dbt_valid_from` and `dbt_valid_to` (NULL for the current version), plus `dbt_is_deleted`
 * ('True' or 'False', as dbt writes it) under `hard_deletes: new_record`.
 * - `timestamp`: a row whose `updated_at` moved past its current version's closes that version
 *   at the new `updated_at` and opens a new one from it.
 * - `check`: a row any of whose `check_cols` (or, for 'all', any column) differs from its current
 *   version closes it at the snapshot's time and opens a new one from it (from `updated_at`,
 *   if one is configured).
 * - `hard_deletes`: `ignore` keeps a row deleted from the source current; `invalidate` closes it
 *   at the snapshot's time; `new_record` also opens a version marked dbt_is_deleted = 'True',
 *   which a row that comes back closes.
 * Columns new in the query are added to the table; a column gone from it stays, NULL from then on.
 */
import { quoteIdent } from "../lib/sql.ts";
import type { ManifestNode } from "./manifest-schema.ts";
import { columnsOf, type Materialized, relationType, stage, tmpName, uniqueKeys } from "./materialize.ts";

export async function materializeSnapshot(db: D1Database, node: ManifestNode, sql: string, now = new Date()): Promise<Materialized> {
  const name = node.relation;
  const staged = await stage(db, tmpName(name), sql);
  const config = node.config;
  const keys = uniqueKeys(node);
  const deletes = config.hard_deletes ?? "ignore";
  const snapshotTime = now.toISOString();
  const target = quoteIdent(name);
  const source = quoteIdent(staged);
  const col = (alias: string, column: string) => `${alias}.${quoteIdent(column)}`;
  const keyOf = (alias: string) => keys.map((k) => `coalesce(CAST(${col(alias, k)} AS TEXT), '')`).join(" || '|' || ");
  const sameKey = (a: string, b: string) => keys.map((k) => `${col(a, k)} IS ${col(b, k)}`).join(" AND ");
  // When a new version starts: its updated_at (timestamp, or check with updated_at), else the snapshot's time (?1).
  const versionTime = (alias: string) => (config.updated_at ? col(alias, config.updated_at) : "?1");
  const meta = (alias: string) =>
    `${keyOf(alias)} || '|' || CAST(${versionTime(alias)} AS TEXT) AS dbt_scd_id, ${versionTime(alias)} AS dbt_updated_at, ` +
    `${versionTime(alias)} AS dbt_valid_from, CAST(NULL AS TEXT) AS dbt_valid_to` +
    (deletes === "new_record" ? ", 'False' AS dbt_is_deleted" : "");
  const statement = (sql: string) => (sql.includes("?1") ? db.prepare(sql).bind(snapshotTime) : db.prepare(sql));

  try {
    if ((await relationType(db, name)) !== "table") {
      await db.batch([statement(`CREATE TABLE ${target} AS SELECT s.*, ${meta("s")} FROM ${source} AS s`)]);
      return { rowsAffected: (await db.prepare(`SELECT count(*) AS n FROM ${target}`).first<number>("n")) ?? 0 };
    }
    const [incoming, existing] = await Promise.all([columnsOf(db, staged), columnsOf(db, name)]);
    const columns = incoming.map((c) => c.name);
    const statements: D1PreparedStatement[] = incoming
      .filter((c) => !existing.some((e) => e.name === c.name))
      .map((c) => db.prepare(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`));
    if (deletes === "new_record" && !existing.some((e) => e.name === "dbt_is_deleted"))
      statements.push(db.prepare(`ALTER TABLE ${target} ADD COLUMN dbt_is_deleted TEXT DEFAULT 'False'`));

    const checked = config.check_cols === "all" ? columns.filter((c) => !keys.includes(c)) : (config.check_cols ?? []);
    const changed = (s: string, t: string) =>
      config.strategy === "check"
        ? `NOT (${checked.map((c) => `${col(t, c)} IS ${col(s, c)}`).join(" AND ")})`
        : `${col(s, config.updated_at!)} > ${t}.dbt_updated_at`;
    const live = deletes === "new_record" ? ` AND ${target}.dbt_is_deleted IS NOT 'True'` : "";
    const deleted = deletes === "new_record" ? ` OR ${target}.dbt_is_deleted = 'True'` : "";

    // Close the current version of every row that changed (and, under new_record, of every deleted row that came back).
    statements.push(
      statement(
        `UPDATE ${target} SET dbt_valid_to = (SELECT ${versionTime("s")} FROM ${source} AS s WHERE ${sameKey("s", target)} LIMIT 1)
         WHERE dbt_valid_to IS NULL AND EXISTS (SELECT 1 FROM ${source} AS s WHERE ${sameKey("s", target)} AND (${changed("s", target)}${deleted}))`,
      ),
    );
    if (deletes === "new_record") {
      // A row gone from the source: a version marked deleted, from now, with the values it last had.
      const kept = existing.map((c) => c.name).filter((c) => !c.startsWith("dbt_"));
      statements.push(
        statement(
          `INSERT INTO ${target} (${kept.map(quoteIdent).join(", ")}, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to, dbt_is_deleted)
           SELECT ${kept.map((c) => col("t", c)).join(", ")}, ${keyOf("t")} || '|' || ?1, ?1, ?1, NULL, 'True' FROM ${target} AS t
           WHERE t.dbt_valid_to IS NULL AND t.dbt_is_deleted IS NOT 'True' AND NOT EXISTS (SELECT 1 FROM ${source} AS s WHERE ${sameKey("s", "t")})`,
        ),
      );
    }
    if (deletes !== "ignore") {
      statements.push(
        statement(
          `UPDATE ${target} SET dbt_valid_to = ?1
           WHERE dbt_valid_to IS NULL${live} AND NOT EXISTS (SELECT 1 FROM ${source} AS s WHERE ${sameKey("s", target)})`,
        ),
      );
    }
    // Open a version for every row without a current one: new rows, and those just closed.
    statements.push(
      statement(
        `INSERT INTO ${target} (${columns.map(quoteIdent).join(", ")}, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to${deletes === "new_record" ? ", dbt_is_deleted" : ""})
         SELECT ${columns.map((c) => col("s", c)).join(", ")}, ${meta("s")} FROM ${source} AS s
         WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${sameKey("t", "s")} AND t.dbt_valid_to IS NULL)`,
      ),
    );
    const results = await db.batch(statements);
    return { rowsAffected: results.reduce((sum, r) => sum + (r.meta.changes ?? 0), 0) };
  } finally {
    await db.prepare(`DROP TABLE IF EXISTS ${source}`).run();
  }
}
