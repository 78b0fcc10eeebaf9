/**
 * The last successful run of each model, which reports name in their cache keys and ETags. Each
 * isolate remembers what it read for a second, so a busy report costs D1 one read a second
 * rather than one a request. A model run in this isolate forgets it at once; other isolates see
 * a rebuild within that second.
 */
import { getTableName } from "drizzle-orm";
import { modelResults } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";

export interface LastRun {
  runId: string;
  finishedAt: string;
}

const rememberRunsMs = 1000;

/** Exported for the report bench's floor, which runs the same statement. */
export const lastRunSql = `SELECT run_id AS runId, finished_at AS finishedAt FROM ${quoteIdent(getTableName(modelResults))}
WHERE unique_id = ?1 AND status = 'success' ORDER BY finished_at DESC LIMIT 1`;

const remembered = new Map<string, { run: LastRun | undefined; readAt: number }>();
/** The memo's clock. Tests set it to step past the second instead of sleeping through it. */
let now: () => number = Date.now;
/** Bumped by every forget, so a read that raced a run's result is not remembered. */
let generation = 0;

/** The model's last successful run, as this isolate last read it within the second, unless `fresh`. */
export async function lastSuccessfulRun(db: D1Database, uniqueId: string, options: { fresh?: boolean } = {}): Promise<LastRun | undefined> {
  const at = now();
  const known = remembered.get(uniqueId);
  if (!options.fresh && known && known.readAt <= at && at - known.readAt < rememberRunsMs) return known.run;
  const readFrom = generation;
  const run = (await db.prepare(lastRunSql).bind(uniqueId).first<LastRun>()) ?? undefined;
  if (readFrom === generation) {
    if (remembered.size >= 1000) remembered.clear();
    remembered.set(uniqueId, { run, readAt: at });
  }
  return run;
}

/** Called as a model run stores each result: this isolate reads the last runs afresh. */
export function forgetLastRuns(): void {
  generation += 1;
  remembered.clear();
}

/** Sets the clock the memo reads (tests only); without an argument, back to `Date.now`. */
export function setLastRunClock(clock: () => number = Date.now): void {
  now = clock;
}
