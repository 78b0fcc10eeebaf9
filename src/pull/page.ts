/**
 * The `PULL` consumer's work for one page task. In: a page message. Out: the page's records on
 * `INGEST`, then either the next page task on `PULL` or the end of the run (cursor committed,
 * lease released). Never a loop inside one invocation: one page per message.
 */
import type { Resource, RestSource } from "../config/pull-schema.ts";
import type { Runtime } from "../env.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";
import { getPath } from "../lib/paths.ts";
import { type PageMessage, recordMessagesFor, sendAll, sendMessage } from "../messages.ts";
import { openIncident, resolveIncident } from "../ops/incidents.ts";
import { authorize, forgetToken } from "./auth.ts";
import { nextPage } from "./paginate.ts";
import { fetchWithinOrigin, jitteredBackoff, maxCursor, retryAfterSeconds } from "./request.ts";
import { failRun, getRun, recordPage } from "./runs.ts";

export type PageOutcome = { ack: true } | { ack: false; delaySeconds: number };

export async function handlePage(runtime: Runtime, task: PageMessage, attempts: number): Promise<PageOutcome> {
  const { env, log } = runtime;
  const run = await getRun(env.DB, task.runId);
  if (run?.status !== "running") return { ack: true }; // the run ended; a stale task
  if (run.pages >= task.page) {
    // A redelivered task whose page is already recorded: make sure the next one was sent.
    if (run.pages === task.page && run.nextPage) await sendMessage(env.PULL, run.nextPage);
    return { ack: true };
  }
  const source = runtime.config.pulls[task.source];
  const resource = source?.resources[task.stream];
  if (!source || !resource) {
    await failRun(env.DB, run, `the config no longer declares ${task.source}/${task.stream}`);
    return { ack: true };
  }
  const fail = async (error: string) => {
    log.error("pull.failed", { source: task.source, stream: task.stream, runId: run.runId, page: task.page, error });
    await failRun(env.DB, run, error);
    await openIncident(runtime, {
      kind: "pull_failed",
      subject: `${task.source}/${task.stream}`,
      message: `run ${run.runId} stopped at page ${task.page}: ${error}`,
    });
    return { ack: true } as const;
  };

  const urlHash = await sha256Hex(task.url);
  if (run.seen.includes(urlHash)) return fail(`paginator loop: page ${task.page} would fetch a URL already fetched in this run`);
  // Pages of this run (a resumed run starts mid-way, with a fresh budget).
  if (run.seen.length >= source.limits.maxPagesPerRun)
    return fail(`stopped after ${source.limits.maxPagesPerRun} pages (limits.maxPagesPerRun)`);
  await respectRate(source, run.lastRequestAt);

  let response: Response;
  try {
    const url = new URL(task.url);
    const headers = new Headers({ accept: "application/json", "user-agent": "sluice", ...source.headers });
    await authorize(source.auth, runtime.settings, headers, url);
    response = await fetchWithinOrigin(url, { headers });
  } catch (error) {
    if (error instanceof SluiceError && !error.retryable) return fail(error.message);
    return retryOrFail(attempts, source, `network error: ${error instanceof Error ? error.message : String(error)}`, undefined, fail);
  }

  if (response.status === 429 || response.status === 503) {
    const wait = retryAfterSeconds(response.headers.get("retry-after"));
    return retryOrFail(attempts, source, `HTTP ${response.status}`, wait, fail);
  }
  if (response.status >= 500) return retryOrFail(attempts, source, `HTTP ${response.status}`, undefined, fail);
  if (response.status === 401 || response.status === 403) {
    forgetToken(source.auth);
    return fail(`HTTP ${response.status}: the API refused the credentials; check the source's auth secrets`);
  }
  if (!response.ok) return fail(`HTTP ${response.status} from ${new URL(task.url).pathname}`);

  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return fail(`page ${task.page} is not JSON`);
  }
  const selected = resource.dataSelector === "" ? body : getPath(body, resource.dataSelector);
  if (!Array.isArray(selected)) return fail(`data selector "${resource.dataSelector}" does not point at an array on page ${task.page}`);

  const records = await keyedRecords(resource, selected);
  let cursorMax = run.cursorMax;
  if (resource.incremental) {
    for (const record of selected) {
      const value = getPath(record, resource.incremental.cursorField);
      if (typeof value === "string" || typeof value === "number") cursorMax = maxCursor(cursorMax, String(value));
    }
  }

  // Records first: the run only moves on once its records are durably queued.
  if (records.length > 0) {
    const deliveryId = `${run.runId}_p${task.page}`;
    const messages = await recordMessagesFor(
      env.RAW,
      { source: task.source, stream: task.stream, receivedAt: new Date().toISOString(), deliveryId },
      records,
    );
    await sendAll(env.INGEST, messages);
  }

  const state = { url: task.url, offset: task.offset, pageNumber: task.pageNumber };
  const next = nextPage(resource.paginator, { url: task.url, headers: response.headers, body, records: selected }, state);
  const nextTask: PageMessage | null = next
    ? { ...task, page: task.page + 1, url: next.url, offset: next.offset, pageNumber: next.pageNumber }
    : null;
  // Credentials go only to the API's own origin, whatever a next link names.
  if (nextTask && new URL(nextTask.url).origin !== new URL(task.url).origin) {
    return fail(`page ${task.page} links to another origin (${new URL(nextTask.url).origin}); Sluice does not send credentials there`);
  }
  if (nextTask && (await sha256Hex(nextTask.url)) === urlHash) return fail(`paginator loop: page ${task.page} links to itself`);

  const recorded = await recordPage(env.DB, run, task.page, { records: records.length, cursorMax, nextPage: nextTask, urlHash });
  if (!recorded) return { ack: true }; // another delivery of this task got there first

  if (nextTask) {
    await sendMessage(env.PULL, nextTask);
  } else {
    // recordPage completed the run in the same transaction.
    await resolveIncident(runtime, "pull_failed", `${task.source}/${task.stream}`, `run ${run.runId} completed`);
    if (resource.disposition === "replace") {
      await sendMessage(env.INGEST, {
        v: 1,
        kind: "replace_commit",
        source: task.source,
        stream: task.stream,
        since: run.startedAt,
        records: run.records + records.length,
      });
    }
    log.info("pull.completed", {
      source: task.source,
      stream: task.stream,
      runId: run.runId,
      pages: task.page,
      records: run.records + records.length,
      cursor: cursorMax,
    });
  }
  return { ack: true };
}

/** Retries through the queue (Retry-After, else backoff with jitter) until the source's limit, then fails the run. */
async function retryOrFail(
  attempts: number,
  source: RestSource,
  error: string,
  retryAfter: number | undefined,
  fail: (error: string) => Promise<PageOutcome>,
): Promise<PageOutcome> {
  if (attempts > source.limits.maxRetries) return fail(`${error}, and still failing after ${source.limits.maxRetries} retries`);
  return { ack: false, delaySeconds: retryAfter ?? jitteredBackoff(attempts) };
}

/** Keeps to the source's request rate: waits out what remains of the interval since the last request. */
async function respectRate(source: RestSource, lastRequestAt: string | null): Promise<void> {
  if (!lastRequestAt) return;
  const interval = 1000 / source.limits.requestsPerSecond;
  const wait = Date.parse(lastRequestAt) + interval - Date.now();
  if (wait > 0) await new Promise((done) => setTimeout(done, Math.min(wait, 10_000)));
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
