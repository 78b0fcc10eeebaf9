/**
 * The model runner: the bundled manifest in, materialized relations and a run record out.
 * Models run in dependency order; a model whose parent failed is skipped, not run over stale
 * or missing data. Every run writes `_sluice_model_runs`, and every node `_sluice_model_results`.
 */
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { modelResults, modelRuns } from "../db/schema.ts";
import { declaredColumns } from "../config/columns.ts";
import { type SluiceConfig, streamConfig } from "../config/index.ts";
import { createTableSql } from "../db/raw-tables.ts";
import type { Runtime } from "../env.ts";
import { toSluiceError } from "../lib/errors.ts";
import { newRunId } from "../lib/ids.ts";
import { quoteIdent, rawTableName } from "../lib/sql.ts";
import { getManifest, type Manifest, type ModelNode } from "./manifest.ts";
import { materialize } from "./materialize.ts";
import { renderSql } from "./render.ts";

export interface RunOptions {
  trigger: "cron" | "manual";
  cron?: string;
  manifest?: Manifest;
}

export interface NodeResult {
  uniqueId: string;
  status: "success" | "error" | "skipped";
  executionMs: number;
  rowsAffected: number | null;
  message: string | null;
}

export interface RunSummary {
  runId: string;
  status: "success" | "error";
  elapsedMs: number;
  results: NodeResult[];
}

export async function runModels(runtime: Runtime, options: RunOptions): Promise<RunSummary> {
  const manifest = options.manifest ?? getManifest();
  const db = drizzle(runtime.env.DB);
  const log = runtime.log.child({ component: "models" });
  const started = new Date();
  const runId = newRunId(started.getTime());
  const args = { trigger: options.trigger, select: "all" };
  await db.insert(modelRuns).values({
    runId,
    trigger: options.trigger,
    cron: options.cron ?? null,
    status: "running",
    startedAt: started.toISOString(),
    args,
  });

  await ensureSourceTables(runtime.env.DB, runtime.config, manifest);

  const failed = new Set<string>();
  const results: NodeResult[] = [];
  const rows: (typeof modelResults.$inferInsert)[] = [];
  for (const node of manifest.nodes.filter((n) => n.config.enabled)) {
    const nodeStarted = new Date();
    const blockedBy = node.dependsOn.models.find((parent) => failed.has(parent));
    let result: NodeResult;
    if (blockedBy !== undefined) {
      failed.add(node.uniqueId);
      result = { uniqueId: node.uniqueId, status: "skipped", executionMs: 0, rowsAffected: null, message: `skipped: upstream ${blockedBy} did not succeed` };
    } else {
      result = await runNode(runtime.env.DB, manifest, node);
      if (result.status !== "success") failed.add(node.uniqueId);
    }
    results.push(result);
    rows.push({ runId, ...result, startedAt: nodeStarted.toISOString(), finishedAt: new Date().toISOString() });
    log[result.status === "error" ? "error" : "info"]("model.finished", { runId, ...result });
  }

  const finished = new Date();
  const status = results.some((r) => r.status !== "success") ? "error" : "success";
  const elapsedMs = finished.getTime() - started.getTime();
  await db.batch([
    db.update(modelRuns).set({ status, finishedAt: finished.toISOString(), elapsedMs }).where(eq(modelRuns.runId, runId)),
    // One statement per result keeps each insert far below D1's 100 bound parameters.
    ...rows.map((row) => db.insert(modelResults).values(row)),
  ]);
  log.info("models.run_finished", { runId, status, elapsedMs, nodes: results.length });
  return { runId, status, elapsedMs, results };
}

async function runNode(db: D1Database, manifest: Manifest, node: ModelNode): Promise<NodeResult> {
  const started = Date.now();
  try {
    const sql = compileModel(manifest, node);
    const { rowsAffected } = await materialize(db, node.name, node.config.materialized, sql);
    return { uniqueId: node.uniqueId, status: "success", executionMs: Date.now() - started, rowsAffected, message: null };
  } catch (error) {
    const failure = toSluiceError(error, "model_failed");
    return { uniqueId: node.uniqueId, status: "error", executionMs: Date.now() - started, rowsAffected: null, message: failure.message };
  }
}

/** The SQL a model runs: its template rendered with refs and sources resolved to D1 tables. */
export function compileModel(manifest: Manifest, node: ModelNode): string {
  const byName = new Map(manifest.nodes.map((n) => [n.name, n]));
  const sql = renderSql(node.rawSql, {
    ref: (name) => quoteIdent(byName.get(name)?.name ?? name),
    source: (source, table) => quoteIdent(rawTableName(source, table)),
  });
  return sql.trim().replace(/;\s*$/, "");
}

/**
 * Creates the raw tables that models read, with their declared columns, if no record has landed
 * yet, so that a model over a quiet source builds empty instead of failing on a missing table.
 */
async function ensureSourceTables(db: D1Database, config: SluiceConfig, manifest: Manifest): Promise<void> {
  const statements = new Map<string, string>();
  for (const node of manifest.nodes) {
    for (const { source, table } of node.dependsOn.sources) {
      const stream = streamConfig(config, source, table);
      const name = rawTableName(source, table);
      statements.set(name, createTableSql(name, stream?.disposition ?? "append", stream ? declaredColumns(stream) : []));
    }
  }
  if (statements.size === 0) return;
  await db.batch([...statements.values()].map((sql) => db.prepare(sql)));
}
