/**
 * A report's query, run. In: the planned SQL (query.ts) and the model's last successful run.
 * Out: the model's columns, one page of rows, the cursor of the next page, and the freshness of
 * the sources the model is built from, all in one D1 round trip. A model not built yet fails the
 * query on its missing table, and is told apart by its missing columns.
 *
 * The columns are read once per model and run, not on every miss: only a model run changes a
 * model's table, and a `select *` model over an evolving stream gains columns between runs, so
 * the run id, which changes with each rebuild, is what the remembered columns are valid for.
 */
import { getTableName } from "drizzle-orm";
import type { ReportDefinition } from "../config/index.ts";
import { sourceFreshness } from "../db/schema.ts";
import { SluiceError } from "../lib/errors.ts";
import { quoteIdent } from "../lib/sql.ts";
import { getManifest, type Manifest } from "../models/manifest.ts";
import { encodeCursor, type ReportQuery } from "./query.ts";

export interface FreshnessRow {
  source: string;
  table: string;
  status: string;
  max_loaded_at: string | null;
  checked_at: string;
}

export interface ReportRows {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  nextCursor: string | null;
  /** JSON answers only: the freshness of the model's upstream sources. */
  freshness: FreshnessRow[];
}

// Raw SQL over drizzle's table name: it runs on every report miss (the report bench's floor runs it too).
export const freshnessSql = `SELECT source, table_name AS "table", status, max_loaded_at, checked_at FROM ${quoteIdent(getTableName(sourceFreshness))}`;

type Column = { name: string; type: string };

/** Each model's columns as of the run that built its table (a model without a recorded run is read every time). */
const knownColumns = new Map<string, { runId: string; columns: Column[] }>();

export async function queryReport(db: D1Database, report: ReportDefinition, plan: ReportQuery, runId?: string): Promise<ReportRows> {
  const known = knownColumns.get(report.model);
  let columns = runId !== undefined && known?.runId === runId ? known.columns : undefined;
  let result: D1Result<Record<string, unknown>>;
  let freshnessRows: D1Result<FreshnessRow> | undefined;
  try {
    const statements = [
      db.prepare(plan.sql).bind(...plan.params),
      ...(plan.format === "json" ? [db.prepare(freshnessSql)] : []),
      ...(columns ? [] : [db.prepare("SELECT name, type FROM pragma_table_info(?1)").bind(report.model)]),
    ];
    const results = await db.batch(statements);
    result = results[0] as D1Result<Record<string, unknown>>;
    freshnessRows = plan.format === "json" ? (results[1] as D1Result<FreshnessRow>) : undefined;
    if (!columns) {
      columns = (results.at(-1) as D1Result<Column>).results;
      if (runId !== undefined) {
        if (knownColumns.size >= 1000) knownColumns.clear();
        knownColumns.set(report.model, { runId, columns });
      }
    }
  } catch (error) {
    const exists = await db.prepare("SELECT count(*) AS n FROM pragma_table_info(?1)").bind(report.model).first<number>("n");
    if (!exists)
      throw new SluiceError("model_not_built", `model "${report.model}" has not been built yet; it builds on the next model run`);
    throw error;
  }
  const rows = result.results.slice(0, plan.limit);
  const nextCursor = result.results.length > plan.limit && plan.order.length > 0 ? encodeCursor(rows.at(-1)!, plan.order) : null;
  return { columns, rows, nextCursor, freshness: modelFreshness(report, freshnessRows?.results ?? []) };
}

/** The freshness of the sources the report's model is built from, found through the model's lineage. */
function modelFreshness(report: ReportDefinition, rows: readonly FreshnessRow[]): FreshnessRow[] {
  if (rows.length === 0) return [];
  const sources = upstreamSources(report.model);
  return rows.filter((r) => sources.has(`${r.source}.${r.table}`)).map((r) => ({ ...r }));
}

/** Each model's upstream sources (`source.table`), per manifest: the lineage is walked once, not on every miss. */
const upstream = new WeakMap<Manifest, Map<string, Set<string>>>();

function upstreamSources(model: string): Set<string> {
  const manifest = getManifest();
  let byModel = upstream.get(manifest);
  if (!byModel) {
    byModel = new Map();
    upstream.set(manifest, byModel);
  }
  let sources = byModel.get(model);
  if (sources) return sources;
  const byId = new Map(manifest.nodes.map((n) => [n.uniqueId, n]));
  sources = new Set<string>();
  const found = sources;
  const visit = (id: string | undefined, seen = new Set<string>()) => {
    const node = id ? byId.get(id) : undefined;
    if (!node || seen.has(node.uniqueId)) return;
    seen.add(node.uniqueId);
    for (const s of node.dependsOn.sources) found.add(`${s.source}.${s.table}`);
    for (const parent of node.dependsOn.nodes) visit(parent, seen);
  };
  visit(manifest.nodes.find((n) => n.name === model)?.uniqueId);
  byModel.set(model, sources);
  return sources;
}
