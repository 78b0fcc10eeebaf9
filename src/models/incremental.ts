/**
 * Incremental runs of an existing table. In: the model's new rows, staged in a table; the
 * model's strategy and on_schema_change. Out: the table changed in one batch (one transaction),
 * so readers see the run's change whole or not at all:
 * - `append`: the rows are inserted.
 * - `delete+insert`: target rows with a staged row's unique_key are deleted, the rows inserted.
 * - `merge`: target rows with a staged row's key are updated (all columns, or those
 *   merge_update_columns lists, or all but merge_exclude_columns), the other rows inserted.
 *   SQLite's `INSERT … ON CONFLICT DO UPDATE` needs a unique index on the key, which a table
 *   with NULL or repeated keys cannot have, so a merge is `UPDATE … FROM` then
 *   `INSERT … WHERE NOT EXISTS`, keys compared with IS (a NULL key matches the NULL-keyed row).
 *   Staged rows that repeat a key fail the model, as a MERGE does on warehouses.
 * - a microbatch window: target rows whose event_time falls in the batch are deleted, the
 *   batch's rows inserted (microbatch.ts).
 */
import { quoteIdent } from "../lib/sql.ts";
import { assertContract } from "./contract.ts";
import type { ManifestNode } from "./manifest-schema.ts";
import { columnsOf, indexStatements, type Materialized, stage, tmpName, uniqueKeys } from "./materialize.ts";

export type Replace =
  | { kind: "append" }
  | { kind: "keys"; keys: string[] }
  | { kind: "merge"; keys: string[] }
  | { kind: "window"; column: string; start: string; end: string };

export function replaceFor(node: ManifestNode): Replace {
  const keys = uniqueKeys(node);
  if (node.config.incremental_strategy === "merge") return { kind: "merge", keys };
  return keys.length > 0 ? { kind: "keys", keys } : { kind: "append" };
}

export async function materializeIncremental(db: D1Database, node: ManifestNode, sql: string): Promise<Materialized> {
  const staged = await stage(db, tmpName(node.relation), sql);
  return applyStaged(db, node, staged, replaceFor(node));
}

/** Applies staged rows to the model's table, in one batch; the staging table is dropped either way. */
export async function applyStaged(db: D1Database, node: ManifestNode, staged: string, replace: Replace): Promise<Materialized> {
  const name = node.relation;
  const target = quoteIdent(name);
  const source = quoteIdent(staged);
  try {
    if (node.contract) await assertContract(db, staged, node.contract);
    const [incoming, existing] = await Promise.all([columnsOf(db, staged), columnsOf(db, name)]);
    const statements = [
      ...indexStatements(node).map((sql) => db.prepare(sql)),
      ...(await schemaChanges(db, node, incoming, existing)).map((sql) => db.prepare(sql)),
    ];
    const kept = ["append_new_columns", "sync_all_columns"].includes(node.config.on_schema_change)
      ? incoming
      : incoming.filter((c) => existing.some((e) => e.name === c.name));
    const list = kept.map((c) => quoteIdent(c.name)).join(", ");
    const same = (keys: string[], a: string, b: string) => keys.map((k) => `${a}.${quoteIdent(k)} IS ${b}.${quoteIdent(k)}`).join(" AND ");
    let counted = 1;
    if (replace.kind === "keys") {
      // Row-value IN finds the rows to replace through the key index; IN never matches NULL, so
      // NULL-keyed rows are matched with IS, and replaced rather than duplicated.
      const keyList = replace.keys.map(quoteIdent).join(", ");
      const anyNull = replace.keys.map((k) => `${target}.${quoteIdent(k)} IS NULL`).join(" OR ");
      statements.push(
        db.prepare(
          `DELETE FROM ${target} WHERE (${keyList}) IN (SELECT ${keyList} FROM ${source})
           OR ((${anyNull}) AND EXISTS (SELECT 1 FROM ${source} AS t WHERE ${same(replace.keys, "t", target)}))`,
        ),
      );
    } else if (replace.kind === "window") {
      const column = `datetime(${quoteIdent(replace.column)})`;
      statements.push(db.prepare(`DELETE FROM ${target} WHERE ${column} >= ?1 AND ${column} < ?2`).bind(replace.start, replace.end));
    } else if (replace.kind === "merge") {
      await assertOneRowPerKey(db, staged, replace.keys);
      const updated = mergeColumns(
        node,
        kept.map((c) => c.name),
        replace.keys,
      );
      if (updated.length > 0) {
        statements.push(
          db.prepare(
            `UPDATE ${target} SET ${updated.map((c) => `${quoteIdent(c)} = s.${quoteIdent(c)}`).join(", ")}
             FROM ${source} AS s WHERE ${same(replace.keys, target, "s")}`,
          ),
        );
        counted = 2;
      }
    }
    const insert = `INSERT INTO ${target} (${list}) SELECT ${list} FROM ${source} AS s`;
    statements.push(
      db.prepare(
        replace.kind === "merge"
          ? `${insert} WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${same(replace.keys, "t", "s")})`
          : insert,
      ),
    );
    const results = await db.batch(statements);
    return { rowsAffected: results.slice(-counted).reduce((sum, r) => sum + (r.meta.changes ?? 0), 0) };
  } finally {
    await db.prepare(`DROP TABLE IF EXISTS ${source}`).run();
  }
}

/** The columns a merge updates: merge_update_columns, or every column but the keys and merge_exclude_columns. */
function mergeColumns(node: ManifestNode, columns: string[], keys: string[]): string[] {
  const listed = node.config.merge_update_columns;
  if (listed) {
    const unknown = listed.filter((c) => !columns.includes(c));
    if (unknown.length > 0)
      throw new Error(`merge_update_columns: ${unknown.join(", ")} not among the model's columns (${columns.join(", ")})`);
    return listed;
  }
  const excluded = new Set([...keys, ...(node.config.merge_exclude_columns ?? [])]);
  return columns.filter((c) => !excluded.has(c));
}

async function assertOneRowPerKey(db: D1Database, staged: string, keys: string[]): Promise<void> {
  const keyList = keys.map(quoteIdent).join(", ");
  const repeated = await db
    .prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM ${quoteIdent(staged)} GROUP BY ${keyList} HAVING count(*) > 1)`)
    .first<number>("n");
  if (repeated)
    throw new Error(
      `merge: ${repeated} unique_key value${repeated === 1 ? "" : "s"} (${keys.join(", ")}) repeat in the model's rows; a merge takes one row per key`,
    );
}

/**
 * on_schema_change: `ignore` leaves the table as it is (new columns are not loaded); `fail` fails
 * the model on any new or removed column; `append_new_columns` adds new columns;
 * `sync_all_columns` adds new columns and drops removed ones (and the indexes that cover them).
 * SQLite's column types are not enforced, so a changed type needs no change.
 */
async function schemaChanges(
  db: D1Database,
  node: ManifestNode,
  incoming: { name: string; type: string }[],
  existing: { name: string; type: string }[],
): Promise<string[]> {
  const table = quoteIdent(node.relation);
  const added = incoming.filter((c) => !existing.some((e) => e.name === c.name));
  const removed = existing.filter((c) => !incoming.some((e) => e.name === c.name));
  const mode = node.config.on_schema_change;
  if (mode === "fail" && (added.length > 0 || removed.length > 0)) {
    const parts = [
      ...(added.length > 0 ? [`new columns ${added.map((c) => c.name).join(", ")}`] : []),
      ...(removed.length > 0 ? [`removed columns ${removed.map((c) => c.name).join(", ")}`] : []),
    ];
    throw new Error(`${parts.join(" and ")} and on_schema_change is fail`);
  }
  if (mode !== "append_new_columns" && mode !== "sync_all_columns") return [];
  const statements = added.map((c) => `ALTER TABLE ${table} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`);
  if (mode === "sync_all_columns" && removed.length > 0) {
    const indexes = (
      await db
        .prepare(
          "SELECT DISTINCT il.name AS name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii WHERE ii.name IN (SELECT value FROM json_each(?2))",
        )
        .bind(node.relation, JSON.stringify(removed.map((c) => c.name)))
        .all<{ name: string }>()
    ).results;
    statements.push(...indexes.map((i) => `DROP INDEX ${quoteIdent(i.name)}`));
    statements.push(...removed.map((c) => `ALTER TABLE ${table} DROP COLUMN ${quoteIdent(c.name)}`));
  }
  return statements;
}
