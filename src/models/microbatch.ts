/**
 * Microbatch incremental models, as dbt runs them. In: the model, its config (`event_time`,
 * `batch_size`, `lookback`, `begin`) and the time of the run. Out: the model's table, changed one
 * batch at a time. A batch is a window [start, end) of `batch_size` in UTC; for each, the model is
 * compiled with its refs and sources that have an `event_time` read only within the window, and
 * the window's rows in the table are replaced by the batch's rows, in one transaction per batch.
 * An incremental run redoes the current batch and `lookback` (default 1) batches before it; the
 * first run, or a full refresh, builds every batch from `begin` into a new table and swaps it in.
 */
import { quoteIdent } from "../lib/sql.ts";
import { batchesFor } from "./batches.ts";
import { type CompileOptions, compileNode } from "./compile-node.ts";
import { assertContract, contractTableSql } from "./contract.ts";
import { applyStaged } from "./incremental.ts";
import type { Manifest, ManifestNode } from "./manifest-schema.ts";
import { columnsOf, indexStatements, type Materialized, stage, swapIn, tmpName } from "./materialize.ts";

export async function materializeMicrobatch(
  db: D1Database,
  manifest: Manifest,
  node: ManifestNode,
  incremental: boolean,
  options: CompileOptions = {},
  now = new Date(),
): Promise<Materialized> {
  const batches = batchesFor(node.config, now, incremental);
  if (batches.length === 0) throw new Error(`begin ${node.config.begin} is after the run's time: there is no batch to build yet`);
  const staging = tmpName(node.relation);
  let rows = 0;
  if (incremental) {
    for (const batch of batches) {
      const staged = await stage(db, staging, await compileNode(manifest, node, { ...options, isIncremental: true, batch }));
      const { rowsAffected } = await applyStaged(db, node, staged, { kind: "window", column: node.config.event_time!, ...batch });
      rows += rowsAffected ?? 0;
    }
    return { rowsAffected: rows };
  }
  // A full build: every batch into a new table, swapped in once all are in.
  const build = `__sluice_build_${node.relation}`;
  await db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(build)}`).run();
  try {
    for (const [i, batch] of batches.entries()) {
      const staged = await stage(db, staging, await compileNode(manifest, node, { ...options, isIncremental: false, batch }));
      if (node.contract) await assertContract(db, staged, node.contract);
      const columns = node.contract ? node.contract.columns.map((c) => c.name) : (await columnsOf(db, staged)).map((c) => c.name);
      const list = columns.map(quoteIdent).join(", ");
      const create = node.contract
        ? contractTableSql(build, node.contract)
        : `CREATE TABLE ${quoteIdent(build)} AS SELECT * FROM ${quoteIdent(staged)} WHERE 0`;
      const results = await db.batch([
        ...(i === 0 ? [db.prepare(create)] : []),
        db.prepare(`INSERT INTO ${quoteIdent(build)} (${list}) SELECT ${list} FROM ${quoteIdent(staged)}`),
        db.prepare(`DROP TABLE ${quoteIdent(staged)}`),
      ]);
      rows += results.at(-2)?.meta.changes ?? 0;
    }
    await swapIn(db, build, node.relation, indexStatements(node));
  } finally {
    await db.batch([db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(build)}`), db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(staging)}`)]);
  }
  return { rowsAffected: rows };
}
