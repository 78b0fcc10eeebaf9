/**
 * Where each SLA stands now. In: the manifest's SLAs (a source table's `sla`, a model's
 * `config.sla`; quality/sla.ts), the newest loaded record of each source table with one (read as
 * source freshness reads it), and each model's last successful build (`_sluice_model_results`).
 * Out: one status per subject, judged by quality/sla-judge.ts: what the cron's SLA check turns into
 * incidents (ops/slas.ts) and what `GET /v1/models` shows.
 */
import { getTableName } from "drizzle-orm";
import { modelResults } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";
import { judgeSla, type SlaSubject, type SlaVerdict } from "../quality/sla-judge.ts";
import { newestLoadedAt } from "./freshness.ts";
import type { Manifest, SourceTable } from "./manifest-schema.ts";

export interface SlaStatus extends SlaSubject {
  /** The incident subject: `source:<source>`, `source:<source>.<table>` or `model:<unique_id>`. */
  subject: string;
  /** Unjudged (null) when what it watches could not be read; `error` says why. */
  verdict: SlaVerdict | null;
  error?: string;
}

/** Each model's last successful build: the ids travel as one JSON parameter, each read through the results' index. */
const lastBuildsSql = `SELECT value AS id, (SELECT max(finished_at) FROM ${quoteIdent(getTableName(modelResults))}
  WHERE unique_id = value AND status = 'success') AS at FROM json_each(?1)`;

/** Every SLA of the manifest, judged at `now`: sources first, then models, in manifest order. */
export async function slaStatuses(db: D1Database, manifest: Manifest, now: Date): Promise<SlaStatus[]> {
  const statuses: SlaStatus[] = [];
  const groups = new Map<string, SourceTable[]>();
  for (const table of manifest.sources)
    if (table.sla && table.slaSubject) groups.set(table.slaSubject, [...(groups.get(table.slaSubject) ?? []), table]);
  for (const [subject, tables] of groups) {
    const first = tables[0]!;
    const what = subject.includes(".") ? `source table ${first.source}.${first.table}` : `source ${first.source}`;
    const read = await newestOf(db, tables);
    statuses.push(status({ subject, what, owner: "source", sla: first.sla!, lastAt: read.lastAt }, read.error, now));
  }
  const models = manifest.nodes.filter((node) => node.config.sla && node.config.enabled);
  if (models.length === 0) return statuses;
  const ids = JSON.stringify(models.map((node) => node.uniqueId));
  const builds = new Map(
    ((await db.prepare(lastBuildsSql).bind(ids).all<{ id: string; at: string | null }>()).results ?? []).map((r) => [r.id, r.at]),
  );
  for (const node of models) {
    const subject = {
      what: `model ${node.name}`,
      owner: "model" as const,
      sla: node.config.sla!,
      lastAt: builds.get(node.uniqueId) ?? null,
    };
    statuses.push(status({ subject: `model:${node.uniqueId}`, ...subject }, undefined, now));
  }
  return statuses;
}

function status(subject: Omit<SlaStatus, "verdict" | "error">, error: string | undefined, now: Date): SlaStatus {
  return error === undefined ? { ...subject, verdict: judgeSla(subject, now) } : { ...subject, verdict: null, error };
}

/** The newest loaded record among the tables; a table never loaded has no table yet, and no record. */
async function newestOf(db: D1Database, tables: readonly SourceTable[]): Promise<{ lastAt: string | null; error?: string }> {
  let lastAt: string | null = null;
  for (const table of tables) {
    try {
      const at = await newestLoadedAt(db, table);
      if (at !== null && Number.isNaN(Date.parse(at)))
        return { lastAt, error: `${table.source}.${table.table}: ${table.loadedAtField} ${JSON.stringify(at)} is not a timestamp` };
      if (at !== null && (lastAt === null || Date.parse(at) > Date.parse(lastAt))) lastAt = at;
    } catch (error) {
      const message = (error as Error).message;
      if (!/no such table/i.test(message)) return { lastAt, error: `${table.source}.${table.table}: ${message}` };
    }
  }
  return { lastAt };
}
