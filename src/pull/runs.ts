/**
 * Pull runs in D1: the lease that keeps one active run per stream, the run's progress, and the
 * committed cursor. A run's highest cursor becomes the stream's cursor only when the run
 * completes; a failed run keeps its next page, and the next start resumes from it.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type PullRun, pullLeases, pullRuns, pullSeenUrls, pullState } from "../db/schema.ts";
import { newRunId } from "../lib/ids.ts";
import type { PageMessage } from "../messages.ts";
import { counterInsert } from "../ops/rollups.ts";

/** How long a run may go without fetching a page before another start may take over. */
export const leaseSeconds = 15 * 60;

const isoIn = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

export type StartOutcome = { started: true; run: PullRun; resumedFrom?: string } | { started: false; reason: string; runId: string };

/**
 * Starts a run if no live run holds the stream's lease. A stream whose last run failed or died
 * resumes from that run's next page, with its incremental value, instead of starting over.
 */
export async function startRun(
  d1: D1Database,
  stream: { source: string; stream: string },
  trigger: "cron" | "manual",
  firstPage: (runId: string) => Promise<{ task: PageMessage; since: string | null }>,
): Promise<StartOutcome> {
  const db = drizzle(d1);
  const runId = newRunId();
  const now = new Date().toISOString();
  const claimed = await db
    .insert(pullLeases)
    .values({ ...stream, runId, expiresAt: isoIn(leaseSeconds) })
    .onConflictDoUpdate({
      target: [pullLeases.source, pullLeases.stream],
      set: { runId, expiresAt: isoIn(leaseSeconds) },
      setWhere: sql`${pullLeases.expiresAt} < ${now}`,
    })
    .returning({ runId: pullLeases.runId });
  if (claimed[0]?.runId !== runId) {
    const [holder] = await db
      .select()
      .from(pullLeases)
      .where(and(eq(pullLeases.source, stream.source), eq(pullLeases.stream, stream.stream)));
    return { started: false, reason: "a run of this stream is already active", runId: holder?.runId ?? "" };
  }

  const [last] = await db
    .select()
    .from(pullRuns)
    .where(and(eq(pullRuns.source, stream.source), eq(pullRuns.stream, stream.stream)))
    .orderBy(desc(pullRuns.startedAt))
    .limit(1);
  const resumable = last && last.status !== "completed" && last.nextPage ? last : undefined;
  if (resumable?.status === "running") {
    // Its lease expired: the run died (its message was lost or it ran out of retries).
    await db.batch([
      db
        .update(pullRuns)
        .set({ status: "failed", error: "lease expired; resumed by a new run", finishedAt: now })
        .where(and(eq(pullRuns.runId, resumable.runId), eq(pullRuns.status, "running"))),
      counterInsert(
        db,
        [{ metric: "sluice_pull_runs_total", labels: { source: stream.source, stream: stream.stream, status: "failed" }, value: 1 }],
        { ifChanged: true },
      ),
      db.delete(pullSeenUrls).where(eq(pullSeenUrls.runId, resumable.runId)),
    ]);
  }

  let task: PageMessage;
  let since: string | null;
  if (resumable) {
    task = { ...(resumable.nextPage as PageMessage), runId };
    since = resumable.since;
  } else {
    ({ task, since } = await firstPage(runId));
  }
  const [run] = await db
    .insert(pullRuns)
    .values({
      runId,
      ...stream,
      trigger: resumable ? "resume" : trigger,
      status: "running",
      pages: task.page - 1,
      since,
      cursorMax: resumable?.cursorMax ?? null,
      nextPage: task,
      startedAt: now,
    })
    .returning();
  return { started: true, run: run!, ...(resumable ? { resumedFrom: resumable.runId } : {}) };
}

export async function getRun(d1: D1Database, runId: string): Promise<PullRun | undefined> {
  const [run] = await drizzle(d1).select().from(pullRuns).where(eq(pullRuns.runId, runId));
  return run;
}

/** A run and the hashes of the URLs it fetched so far, read in one D1 call. */
export async function getRunWithSeen(d1: D1Database, runId: string): Promise<{ run: PullRun; seen: Set<string> } | undefined> {
  const db = drizzle(d1);
  const [runs, seen] = await db.batch([
    db.select().from(pullRuns).where(eq(pullRuns.runId, runId)),
    db.select({ urlHash: pullSeenUrls.urlHash }).from(pullSeenUrls).where(eq(pullSeenUrls.runId, runId)),
  ]);
  return runs[0] ? { run: runs[0], seen: new Set(seen.map((row) => row.urlHash)) } : undefined;
}

/**
 * Records page `page` as done, if no one recorded it before (a redelivered page task must not
 * fork the run): compare-and-set on the page count. The page's URL joins the run's seen URLs
 * and its counter moves only if this call won. Also refreshes the lease.
 */
export async function recordPage(
  d1: D1Database,
  run: PullRun,
  page: number,
  update: { records: number; cursorMax: string | null; nextPage: PageMessage | null; urlHash: string },
): Promise<boolean> {
  const db = drizzle(d1);
  // The last page completes the run in the same transaction that records it, so a failure in
  // between can never leave a recorded last page with the run still open.
  const completion = update.nextPage === null ? completionStatements(d1, run, update.cursorMax) : [];
  const [result] = await db.batch([
    db
      .update(pullRuns)
      .set({
        pages: page,
        records: sql`${pullRuns.records} + ${update.records}`,
        cursorMax: update.cursorMax,
        nextPage: update.nextPage,
        lastRequestAt: new Date().toISOString(),
      })
      .where(and(eq(pullRuns.runId, run.runId), eq(pullRuns.pages, page - 1), eq(pullRuns.status, "running")))
      .returning({ runId: pullRuns.runId }),
    counterInsert(db, [{ metric: "sluice_pull_pages_total", labels: { source: run.source, stream: run.stream }, value: 1 }], {
      ifChanged: true,
    }),
    // Guarded by the counter just before it, itself guarded by the compare-and-set.
    db.insert(pullSeenUrls).select(sql`SELECT ${run.runId}, ${update.urlHash}, ${page} WHERE changes() > 0`).onConflictDoNothing(),
    db
      .update(pullLeases)
      .set({ expiresAt: isoIn(leaseSeconds) })
      .where(and(eq(pullLeases.source, run.source), eq(pullLeases.stream, run.stream), eq(pullLeases.runId, run.runId))),
    ...completion,
  ]);
  return result.length === 1;
}

/**
 * The statements that complete a run: status, the committed cursor, the released lease. Guarded
 * by the run still running, so they are harmless if another delivery of the page was first.
 */
function completionStatements(d1: D1Database, run: PullRun, cursorMax: string | null) {
  const db = drizzle(d1);
  const now = new Date().toISOString();
  return [
    db
      .insert(pullState)
      .values({ source: run.source, stream: run.stream, cursor: cursorMax, runId: run.runId, updatedAt: now })
      .onConflictDoUpdate({
        target: [pullState.source, pullState.stream],
        // A run that saw no cursor values keeps the previous cursor.
        set: { cursor: sql`coalesce(excluded.cursor, ${pullState.cursor})`, runId: run.runId, updatedAt: now },
      }),
    db
      .update(pullRuns)
      .set({ status: "completed", nextPage: null, finishedAt: now, cursorMax })
      .where(and(eq(pullRuns.runId, run.runId), eq(pullRuns.status, "running"))),
    counterInsert(
      db,
      [{ metric: "sluice_pull_runs_total", labels: { source: run.source, stream: run.stream, status: "completed" }, value: 1 }],
      { ifChanged: true },
    ),
    db.delete(pullLeases).where(and(eq(pullLeases.source, run.source), eq(pullLeases.stream, run.stream), eq(pullLeases.runId, run.runId))),
    // A run's seen URLs matter only while it runs.
    db.delete(pullSeenUrls).where(eq(pullSeenUrls.runId, run.runId)),
  ] as const;
}

/** Fails a run, keeping its next page for the resume, and releases the lease. */
export async function failRun(d1: D1Database, run: PullRun, error: string): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db
      .update(pullRuns)
      .set({ status: "failed", error, finishedAt: new Date().toISOString() })
      .where(and(eq(pullRuns.runId, run.runId), eq(pullRuns.status, "running"))),
    counterInsert(
      db,
      [{ metric: "sluice_pull_runs_total", labels: { source: run.source, stream: run.stream, status: "failed" }, value: 1 }],
      { ifChanged: true },
    ),
    db.delete(pullLeases).where(and(eq(pullLeases.source, run.source), eq(pullLeases.stream, run.stream), eq(pullLeases.runId, run.runId))),
    db.delete(pullSeenUrls).where(eq(pullSeenUrls.runId, run.runId)),
  ]);
}

export async function committedCursor(d1: D1Database, source: string, stream: string): Promise<string | null> {
  const [state] = await drizzle(d1)
    .select()
    .from(pullState)
    .where(and(eq(pullState.source, source), eq(pullState.stream, stream)));
  return state?.cursor ?? null;
}
