/**
 * The `PULL` consumer's work for one page task. In: a page message. Out: pages fetched in a loop,
 * each page's records on `INGEST` and then its checkpoint (a compare-and-set on the run's page
 * count), until the run ends (cursor committed, lease released) or the task's budget is spent
 * (src/pull/budget.ts), when the next page goes to a new task on `PULL`. A queue hop costs a
 * round trip and a scheduling delay, so it is paid once a budget, not once a page.
 *
 * The next page's fetch starts as soon as its URL is known and runs while the current page's
 * records are queued and its checkpoint commits; it is used only once that checkpoint won, and
 * dropped if another delivery recorded the page first. A redelivered task whose run is ahead (a
 * crash mid-loop, after some checkpoints) carries on from the run's next page: every page is
 * recorded once, by whichever delivery wins its compare-and-set.
 */
import type { Resource, RestSource } from "../config/pull-schema.ts";
import type { PullRun } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { getPath } from "../lib/paths.ts";
import { type PageMessage, recordMessagesFor, sendAll, sendMessage } from "../messages.ts";
import { openIncident, resolveIncident } from "../ops/incidents.ts";
import { TaskBudget } from "./budget.ts";
import { type FetchedPage, fetchPage } from "./fetch-page.ts";
import { nextPage } from "./paginate.ts";
import { jitteredBackoff, maxCursor } from "./request.ts";
import { failRun, getRunWithSeen, recordPage } from "./runs.ts";

export type PageOutcome = { ack: true } | { ack: false; delaySeconds: number };

export async function handlePage(runtime: Runtime, task: PageMessage, attempts: number): Promise<PageOutcome> {
  const { env, log } = runtime;
  const loaded = await getRunWithSeen(env.DB, task.runId);
  if (loaded?.run.status !== "running") return { ack: true }; // the run ended; a stale task
  let run = loaded.run;
  const seen = loaded.seen;
  // The run is ahead of the task when an earlier delivery checkpointed pages and then died (or
  // is a duplicate): carry on from the run's next page rather than stop and strand the run.
  const first = run.pages >= task.page ? (run.nextPage as PageMessage | null) : run.pages + 1 === task.page ? task : null;
  if (!first) return { ack: true };
  const source = runtime.config.pulls[task.source];
  const resource = source?.resources[task.stream];
  if (!source || !resource) {
    await failRun(env.DB, run, `the config no longer declares ${task.source}/${task.stream}`);
    return { ack: true };
  }
  const fail = async (page: number, error: string) => {
    log.error("pull.failed", { source: task.source, stream: task.stream, runId: run.runId, page, error });
    await failRun(env.DB, run, error);
    await openIncident(runtime, {
      kind: "pull_failed",
      subject: `${task.source}/${task.stream}`,
      message: `run ${run.runId} stopped at page ${page}: ${error}`,
    });
    return { ack: true } as const;
  };
  /** A page URL's verdict before it is fetched: a loop, or the run's page cap. */
  const refuse = (urlHash: string, page: number) => {
    if (seen.has(urlHash)) return `paginator loop: page ${page} would fetch a URL already fetched in this run`;
    // Pages of this run (a resumed run starts mid-way, with a fresh count).
    if (seen.size >= source.limits.maxPagesPerRun) return `stopped after ${source.limits.maxPagesPerRun} pages (limits.maxPagesPerRun)`;
    return undefined;
  };

  const budget = new TaskBudget(source.budget);
  let current = first;
  let currentHash = await sha256Hex(current.url);
  const refused = refuse(currentHash, current.page);
  if (refused) return fail(current.page, refused);
  let lastRequestAt = run.lastRequestAt ? Date.parse(run.lastRequestAt) : null;
  let fetching: Promise<FetchedPage> = fetchPage(runtime, source, current, lastRequestAt);
  for (;;) {
    budget.startPage();
    const fetched = await fetching;
    lastRequestAt = fetched.requestedAt;
    if (!fetched.ok) {
      if (!fetched.retryable) return await fail(current.page, fetched.error);
      const delaySeconds = fetched.retryAfter ?? jitteredBackoff(current === first ? attempts : 1);
      if (current === first) return await retryOrFail(attempts, source, fetched.error, delaySeconds, (e) => fail(current.page, e));
      // Later pages retry as a task of their own, so the retry count is this page's alone.
      await sendMessage(env.PULL, current, { delaySeconds });
      log.warn("pull.retry", { runId: run.runId, page: current.page, error: fetched.error, delaySeconds });
      return { ack: true };
    }

    const busyStarted = performance.now();
    const selected = resource.dataSelector === "" ? fetched.body : getPath(fetched.body, resource.dataSelector);
    if (!Array.isArray(selected)) {
      return await fail(current.page, `data selector "${resource.dataSelector}" does not point at an array on page ${current.page}`);
    }
    const state = { url: current.url, offset: current.offset, pageNumber: current.pageNumber };
    const next = nextPage(resource.paginator, { url: current.url, headers: fetched.headers, body: fetched.body, records: selected }, state);
    const nextTask: PageMessage | null = next
      ? { ...current, page: current.page + 1, url: next.url, offset: next.offset, pageNumber: next.pageNumber }
      : null;
    // Credentials go only to the API's own origin, whatever a next link names.
    if (nextTask && new URL(nextTask.url).origin !== new URL(current.url).origin) {
      const origin = new URL(nextTask.url).origin;
      return await fail(current.page, `page ${current.page} links to another origin (${origin}); Sluice does not send credentials there`);
    }
    const nextHash = nextTask ? await sha256Hex(nextTask.url) : undefined;
    if (nextHash === currentHash) return await fail(current.page, `paginator loop: page ${current.page} links to itself`);

    // The next page's fetch overlaps this page's queueing and checkpoint, if it will be wanted:
    // room for this page (not booked yet) and the next.
    seen.add(currentHash);
    // A prefetch never used (the checkpoint lost, the run failed or hopped) is dropped: fetchPage
    // never throws and reads its body whole, so nothing is left open or unhandled.
    let prefetch: { task: PageMessage; urlHash: string; fetched: Promise<FetchedPage> } | undefined;
    if (nextTask && nextHash && refuse(nextHash, nextTask.page) === undefined && budget.roomFor(2)) {
      prefetch = { task: nextTask, urlHash: nextHash, fetched: fetchPage(runtime, source, nextTask, fetched.requestedAt) };
    }

    const records = await keyedRecords(resource, selected);
    let cursorMax = run.cursorMax;
    if (resource.incremental) {
      for (const record of selected) {
        const value = getPath(record, resource.incremental.cursorField);
        if (typeof value === "string" || typeof value === "number") cursorMax = maxCursor(cursorMax, String(value));
      }
    }
    // Records first: the run only moves on once its records are durably queued.
    let sends = 0;
    let claimChecks = 0;
    if (records.length > 0) {
      const base = {
        source: task.source,
        stream: task.stream,
        receivedAt: new Date().toISOString(),
        deliveryId: `${run.runId}_p${current.page}`,
      };
      const messages = await recordMessagesFor(env.RAW, base, records);
      claimChecks = messages.filter((m) => "r2Key" in m && m.r2Key !== undefined).length;
      const busyMs = fetched.parseMs + performance.now() - busyStarted;
      sends = await sendAll(env.INGEST, messages);
      budget.pageDone({ subrequests: fetched.fetches + sends + claimChecks + 1, busyMs, bodyBytes: fetched.bodyBytes });
    } else {
      budget.pageDone({
        subrequests: fetched.fetches + 1,
        busyMs: fetched.parseMs + performance.now() - busyStarted,
        bodyBytes: fetched.bodyBytes,
      });
    }

    const update = { records: records.length, cursorMax, nextPage: nextTask, urlHash: currentHash };
    if (!(await recordPage(env.DB, run, current.page, update))) return { ack: true }; // another delivery got there first
    run = { ...run, pages: current.page, records: run.records + records.length, cursorMax, nextPage: nextTask };

    if (!nextTask) {
      await completed(runtime, run, resource);
      return { ack: true };
    }
    const refusedNext = refuse(nextHash!, nextTask.page);
    if (refusedNext) return await fail(nextTask.page, refusedNext);
    if (!prefetch || !budget.roomFor(1)) {
      log.debug("pull.hop", { runId: run.runId, page: nextTask.page, ...budget.spent() });
      await sendMessage(env.PULL, nextTask);
      return { ack: true };
    }
    current = prefetch.task;
    currentHash = prefetch.urlHash;
    fetching = prefetch.fetched;
  }
}

/** What ends a run once its last page is recorded (recordPage completed it in the same transaction). */
async function completed(runtime: Runtime, run: PullRun, resource: Resource): Promise<void> {
  await resolveIncident(runtime, "pull_failed", `${run.source}/${run.stream}`, `run ${run.runId} completed`);
  if (resource.disposition === "replace") {
    await sendMessage(runtime.env.INGEST, {
      v: 1,
      kind: "replace_commit",
      source: run.source,
      stream: run.stream,
      since: run.startedAt,
      records: run.records,
    });
  }
  runtime.log.info("pull.completed", {
    source: run.source,
    stream: run.stream,
    runId: run.runId,
    pages: run.pages,
    records: run.records,
    cursor: run.cursorMax,
  });
}

/** Retries through the queue (Retry-After, else backoff with jitter) until the source's limit, then fails the run. */
async function retryOrFail(
  attempts: number,
  source: RestSource,
  error: string,
  delaySeconds: number,
  fail: (error: string) => Promise<PageOutcome>,
): Promise<PageOutcome> {
  if (attempts > source.limits.maxRetries) return fail(`${error}, and still failing after ${source.limits.maxRetries} retries`);
  return { ack: false, delaySeconds };
}

/**
 * Each record with its key: the primary key's values (plus the cursor, so each version is its
 * own record), else a hash of the record. Only the records that need a hash wait for one.
 */
async function keyedRecords(resource: Resource, selected: readonly unknown[]): Promise<{ key: string; payload: unknown }[]> {
  const records = selected.map((record) => ({ key: naturalKey(resource, record), payload: record }));
  await Promise.all(
    records.filter((r) => r.key === undefined).map(async (r) => (r.key = await sha256Hex(JSON.stringify(r.payload) ?? "null"))),
  );
  return records as { key: string; payload: unknown }[];
}

export function naturalKey(resource: Resource, record: unknown): string | undefined {
  // The key is stored in clear (`_sluice_key`, quarantine and dead-letter rows): a key made of a
  // field the stream redacts or hashes would leak it, so such records are keyed by content instead.
  const guarded = new Set([...resource.redact, ...resource.hash].map((path) => path.replace(/^\$\./, "").replaceAll(".", "__")));
  const keyFields = [...(resource.primaryKey ?? []), ...(resource.incremental ? [resource.incremental.cursorField] : [])];
  if (keyFields.some((field) => guarded.has(field.replaceAll(".", "__")))) return undefined;
  const parts = (resource.primaryKey ?? []).map((column) => getPath(record, column));
  if (parts.length === 0 || parts.some((part) => part === undefined || part === null)) return undefined;
  const version = resource.incremental ? getPath(record, resource.incremental.cursorField) : undefined;
  const id =
    parts.length === 1 && (typeof parts[0] === "string" || typeof parts[0] === "number") ? String(parts[0]) : JSON.stringify(parts);
  const key = id + (version !== undefined && version !== null ? `@${String(version)}` : "");
  return key.length <= 512 ? key : undefined;
}
