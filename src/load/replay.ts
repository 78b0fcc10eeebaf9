/**
 * Replay and backfill from the raw zone, and the commit of `replace` loads. A replay request names
 * a time range of the raw zone (when records landed) and is split into one task per (stream,
 * day); each day task lists its raw objects and queues one task per object in range; each object
 * task loads its lines through the stream's current transforms and schema. Loads are idempotent,
 * so a replay never duplicates rows.
 */
import { streamConfig } from "../config/index.ts";
import { createTableSql, stagingTable, swapStagingSql } from "../db/raw-tables.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { quoteIdent, rawTableName } from "../lib/sql.ts";
import { type ReplaceCommitMessage, type ReplayDayMessage, type ReplayObjectMessage, sendAll } from "../messages.ts";
import { forgetColumns } from "./column-cache.ts";
import { loadStream } from "./load-stream.ts";
import { rawDayPrefix, readRawObject } from "./raw-zone.ts";

export interface ReplayRequest {
  source: string;
  stream?: string | undefined;
  from: string;
  to: string;
}

/**
 * Checks a replay against the config and queues one task per stream and day in the range; the
 * ops API and the dashboard's button both replay through here. Every source has a raw zone
 * (pulled records are archived there as webhook deliveries are), so any declared source can be
 * replayed.
 */
export async function planReplay(runtime: Runtime, request: ReplayRequest): Promise<ReplayDayMessage[]> {
  const { config } = runtime;
  const { source, stream } = request;
  if (!Object.hasOwn(config.sources, source) && !Object.hasOwn(config.pulls, source)) {
    throw new SluiceError("unknown_source", `no source named "${source}"`);
  }
  if (stream !== undefined && !streamConfig(config, source, stream)) {
    throw new SluiceError("bad_request", `source "${source}" has no stream "${stream}"`);
  }
  const from = new Date(request.from).toISOString();
  const to = new Date(request.to).toISOString();
  const days = daysBetween(from, to);
  const streams = stream !== undefined ? [stream] : await streamsOf(runtime.env.RAW, source);
  const tasks: ReplayDayMessage[] = streams.flatMap((name) =>
    days.map((day) => ({ v: 1 as const, kind: "replay_day" as const, source, stream: name, day, from, to })),
  );
  await sendAll(runtime.env.INGEST, tasks);
  return tasks;
}

export async function replayDay(runtime: Runtime, task: ReplayDayMessage): Promise<void> {
  const objects: ReplayObjectMessage[] = [];
  let cursor: string | undefined;
  do {
    const page = await runtime.env.RAW.list({ prefix: rawDayPrefix(task.source, task.stream, task.day), cursor });
    for (const object of page.objects) {
      if (inRange(object.key, task.from, task.to)) {
        objects.push({ v: 1, kind: "replay_object", source: task.source, stream: task.stream, r2Key: object.key });
      }
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  await sendAll(runtime.env.INGEST, objects);
  runtime.log.info("replay.day_planned", { source: task.source, stream: task.stream, day: task.day, objects: objects.length });
}

export async function replayObject(runtime: Runtime, task: ReplayObjectMessage): Promise<void> {
  const lines = await readRawObject(runtime.env.RAW, task.r2Key);
  const result = await loadStream(runtime, task.source, task.stream, lines, { kind: "replay", rawObject: task.r2Key });
  runtime.log.info("replay.object_loaded", { ...result });
}

export async function commitReplace(runtime: Runtime, task: ReplaceCommitMessage): Promise<void> {
  const table = rawTableName(task.source, task.stream);
  if (task.since !== undefined && task.records !== undefined) {
    // Queues are unordered: the run's last records may still be on their way to the staging
    // table, so wait (by retrying) until the loads since the run began account for them all.
    const processed = await runtime.env.DB.prepare(
      "SELECT coalesce(sum(records), 0) AS n FROM _sluice_loads WHERE source = ?1 AND stream = ?2 AND kind = 'ingest' AND started_at >= ?3",
    )
      .bind(task.source, task.stream, task.since)
      .first<number>("n");
    if ((processed ?? 0) < task.records) {
      throw new SluiceError("storage_unavailable", `waiting for ${task.records - (processed ?? 0)} records before swapping ${table}`);
    }
  }
  const staged = await runtime.env.DB.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?1")
    .bind(stagingTable(table))
    .first<number>("n");
  if (!staged) {
    if (task.records === 0) {
      // A full refresh that found nothing: the table becomes empty, keeping its columns.
      await runtime.env.DB.prepare(createTableSql(table, "replace")).run();
      await runtime.env.DB.prepare(`DELETE FROM ${quoteIdent(table)}`).run();
      runtime.log.info("replace.committed", { source: task.source, stream: task.stream, table, records: 0 });
      return;
    }
    // Nothing was staged although records were: they are still on their way.
    throw new SluiceError("storage_unavailable", `${table} has no staged load to commit yet`, { retryable: task.records !== undefined });
  }
  await runtime.env.DB.batch(swapStagingSql(table).map((sql) => runtime.env.DB.prepare(sql)));
  forgetColumns(table);
  forgetColumns(stagingTable(table));
  runtime.log.info("replace.committed", { source: task.source, stream: task.stream, table });
}

/**
 * Whether a raw object's hour partition (the hour its batch was loaded) overlaps [from, to].
 * Objects are found by when they landed in the raw zone, which is what a replay range names.
 */
function inRange(key: string, from: string, to: string): boolean {
  const match = /\/dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\//.exec(key);
  if (!match) return true;
  const start = `${match[1]}T${match[2]}:00:00.000Z`;
  const end = new Date(Date.parse(start) + 3_600_000).toISOString();
  return start <= to && end > from;
}

/** The streams with raw objects under `raw/<source>/`. */
async function streamsOf(bucket: R2Bucket, source: string): Promise<string[]> {
  const streams: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: `raw/${source}/`, delimiter: "/", cursor });
    for (const prefix of page.delimitedPrefixes) streams.push(prefix.slice(`raw/${source}/`.length, -1));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return streams;
}

/** Every UTC date from `from` to `to`, inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  const end = to.slice(0, 10);
  for (let day = new Date(`${from.slice(0, 10)}T00:00:00Z`); day.toISOString().slice(0, 10) <= end; day.setUTCDate(day.getUTCDate() + 1)) {
    days.push(day.toISOString().slice(0, 10));
    if (days.length > 3660) throw new SluiceError("bad_request", "replay ranges are limited to ten years");
  }
  return days;
}
