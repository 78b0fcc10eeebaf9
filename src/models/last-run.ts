/**
 * The last successful run of each model, which reports name in their cache keys and ETags. Each
 * isolate remembers what it read for a second, so a busy report costs D1 one read a second
 * rather than one a request. A model run in this isolate forgets it at once; other isolates see
 * a rebuild within that second. Past half that second a request re-reads it in the background
 * (its `waitUntil`), so under steady traffic no request waits on the read: each served value is
 * still less than a second old, yet the one request a second that used to pay for a D1 round
 * trip before its own query, the slowest in a hundred at 100 req/s, no longer does. A read in
 * flight is never shared with another request: workerd refuses I/O begun in another request's
 * context (500 "Cannot perform I/O on behalf of a different request"), so only values are shared.
 */
import { getTableName } from "drizzle-orm";
import { modelResults } from "../db/schema.ts";
import { quoteIdent } from "../lib/sql.ts";

export interface LastRun {
  runId: string;
  finishedAt: string;
}

const rememberRunsMs = 1000;
const refreshAfterMs = rememberRunsMs / 2;

/** Exported for the report bench's floor, which runs the same statement. */
export const lastRunSql = `SELECT run_id AS runId, finished_at AS finishedAt FROM ${quoteIdent(getTableName(modelResults))}
WHERE unique_id = ?1 AND status = 'success' ORDER BY finished_at DESC LIMIT 1`;

const remembered = new Map<string, { run: LastRun | undefined; readAt: number }>();
/** The memo's clock. Tests set it to step past the second instead of sleeping through it. */
let now: () => number = Date.now;
/** Bumped by every forget, so a read that raced a run's result is not remembered. */
let generation = 0;
/** Models whose run is being re-read in the background, so a busy second starts one read, not many. */
const refreshing = new Set<string>();

/**
 * The model's last successful run, as this isolate last read it within the second, unless
 * `fresh`. With `waitUntil`, a remembered value past half its second is served and re-read
 * behind the response.
 */
export async function lastSuccessfulRun(
  db: D1Database,
  uniqueId: string,
  options: { fresh?: boolean; waitUntil?: (work: Promise<unknown>) => void } = {},
): Promise<LastRun | undefined> {
  const at = now();
  const known = remembered.get(uniqueId);
  if (!options.fresh && known && known.readAt <= at && at - known.readAt < rememberRunsMs) {
    if (at - known.readAt >= refreshAfterMs && options.waitUntil && !refreshing.has(uniqueId)) {
      refreshing.add(uniqueId);
      // A failed re-read leaves the value to expire; the next request then reads it itself.
      options.waitUntil(
        read(db, uniqueId, at)
          .catch(() => undefined)
          .finally(() => refreshing.delete(uniqueId)),
      );
    }
    return known.run;
  }
  return read(db, uniqueId, at);
}

/** Reads the run and remembers it as of `at`, when the read began, so its age is never understated. */
async function read(db: D1Database, uniqueId: string, at: number): Promise<LastRun | undefined> {
  const readFrom = generation;
  const run = (await db.prepare(lastRunSql).bind(uniqueId).first<LastRun>()) ?? undefined;
  if (readFrom === generation) {
    if (remembered.size >= 1000) remembered.clear();
    const current = remembered.get(uniqueId);
    // A slower read that began earlier must not replace a newer one.
    if (!current || current.readAt <= at) remembered.set(uniqueId, { run, readAt: at });
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
