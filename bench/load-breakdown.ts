/**
 * Where a load's time goes, step by step, for the load benchmark's report. In: `records` records of
 * the benchmark's stream, made into the same envelopes the queue carries, in batches of 100 run one
 * after another as the queue delivers them. Out: milliseconds per batch of each step, timed
 * separately in this Worker: the floor's parse, raw-zone write and D1 batch (load-floor.ts); Sluice's
 * message parsing (JSON plus the zod envelope schema), `prepareRecords` (transforms, redaction,
 * typing), its raw-zone write, the whole `loadStream`, and the whole `consumeIngestBatch`; and D1
 * batches that add Sluice's ledger (the duplicate and conflict check, the counts) and then its
 * metric counters to the floor's statements, on identical tables. Each step gets its own stream
 * and table, so none finds another's rows.
 */
import type { Runtime } from "../src/env.ts";
import { consumeIngestBatch } from "../src/load/consumer.ts";
import { ledgerClose, ledgerCountWrite, ledgerOpen } from "../src/load/ledger.ts";
import { loadKeys } from "../src/load/load-keys.ts";
import { loadStream, streamConfigOf } from "../src/load/load-stream.ts";
import { prepareRecords } from "../src/load/prepare.ts";
import { rawObjectKey, writeRawObject } from "../src/load/raw-zone.ts";
import { ingestMessageSchema, messageBody } from "../src/messages.ts";
import { addLoadCounters } from "../src/ops/rollups.ts";
import { type FloorEnv, floorD1, floorParse, floorRaw, floorStatements } from "./load-floor.ts";
import { benchSource, recordEnvelopes } from "./load-records.ts";

const envelopes = (stream: string, from: number, count: number): string[] =>
  recordEnvelopes(stream, from, count).map((envelope) => JSON.stringify(envelope));

const asMessages = (bodies: string[]): Message<unknown>[] =>
  bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body, ack() {}, retry() {} }));

/** Copies Sluice's table for `stream` under each of `names`, as the floor's /setup does. */
async function copies(db: D1Database, from: string, names: string[]): Promise<void> {
  const { results } = await db
    .prepare("SELECT type, sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type DESC")
    .bind(from)
    .all<{ sql: string }>();
  await db.batch(names.flatMap((name) => results.map((r) => db.prepare(r.sql.split(from).join(name)))));
}

export async function breakdown(runtime: Runtime, records: number, tag: string): Promise<Record<string, number>> {
  const env = runtime.env as unknown as FloorEnv;
  const stream = (step: string) => `bd_${tag}_${step}`;
  const table = (step: string) => `raw_${benchSource}__${stream(step)}`;
  const config = streamConfigOf(runtime, benchSource, stream("load"));

  // Sluice's own table first (by a full load), then identical copies for the floor's D1 variants.
  await loadStream(runtime, benchSource, stream("load"), floorParse(envelopes(stream("load"), records, 100)));
  await copies(env.DB, table("load"), [table("floor"), table("ledger"), table("counters")]);

  /** Times `work` after `prepare`, which is not timed. */
  const timed = async <T>(prepare: () => Promise<T> | T, work: (input: T) => Promise<unknown> | unknown) => {
    const input = await prepare();
    const started = performance.now();
    await work(input);
    return performance.now() - started;
  };

  /** D1 batches of the floor's statements plus Sluice's ledger and, optionally, its counters. */
  const withLedger = (counters: boolean, step: string) => (bodies: string[]) =>
    timed(
      async () => {
        const load = await floorRaw(env, floorParse(bodies));
        const { seq, write } = await floorStatements(env, load);
        const planned = load.lines.map((line, i) => ({ key: line.key, line: i + 1, quarantined: false }));
        const { keys } = loadKeys(config, planned, () => undefined);
        const entry = {
          loadId: load.loadId,
          kind: "ingest" as const,
          source: benchSource,
          stream: stream(step),
          records: load.lines.length,
          filtered: 0,
          r2Key: load.r2Key,
          bytes: load.bytes,
          startedAt: load.started.toISOString(),
        };
        return [
          seq,
          ...ledgerOpen(env.DB, table(step), entry, keys),
          write,
          ledgerCountWrite(env.DB, load.loadId),
          ledgerClose(env.DB, load.loadId, keys),
          ...(counters ? [addLoadCounters(env.DB, load.loadId)] : []),
        ];
      },
      (statements) => env.DB.batch(statements),
    );

  // Each step: its stream, and the ms of the part it times for one batch of envelopes.
  const steps: Record<string, [string, (bodies: string[]) => Promise<number>]> = {
    floor_parse: ["floor", (bodies) => timed(() => bodies, floorParse)],
    floor_raw_zone: [
      "floor",
      (bodies) =>
        timed(
          () => floorParse(bodies),
          (lines) => floorRaw(env, lines),
        ),
    ],
    floor_d1: [
      "floor",
      (bodies) =>
        timed(
          () => floorRaw(env, floorParse(bodies)),
          (load) => floorD1(env, load),
        ),
    ],
    floor_d1_with_sluice_ledger: ["ledger", withLedger(false, "ledger")],
    floor_d1_with_sluice_ledger_and_counters: ["counters", withLedger(true, "counters")],
    sluice_parse: [
      "parse",
      (bodies) =>
        timed(
          () => asMessages(bodies),
          (messages) => messages.map((m) => ingestMessageSchema.safeParse(messageBody(m))),
        ),
    ],
    sluice_prepare: [
      "prepare",
      (bodies) =>
        timed(
          () => floorParse(bodies),
          (lines) => prepareRecords(runtime, config, benchSource, stream("prepare"), lines),
        ),
    ],
    sluice_raw_zone: [
      "raw",
      (bodies) =>
        timed(
          () => prepareRecords(runtime, config, benchSource, stream("raw"), floorParse(bodies)),
          (prepared) =>
            writeRawObject(
              env.RAW,
              rawObjectKey(benchSource, stream("raw"), `ld_${tag}_${bodies.length}_${performance.now()}`, new Date()),
              prepared.stored,
              {},
            ),
        ),
    ],
    sluice_load_stream: [
      "load",
      (bodies) =>
        timed(
          () => floorParse(bodies),
          (lines) => loadStream(runtime, benchSource, stream("load"), lines),
        ),
    ],
    sluice_consume: [
      "consume",
      (bodies) =>
        timed(
          () => asMessages(bodies),
          (messages) => consumeIngestBatch({ queue: "bench", messages }, runtime),
        ),
    ],
  };

  const perBatch: Record<string, number> = {};
  const batches = Math.ceil(records / 100);
  for (const [name, [step, run]] of Object.entries(steps)) {
    let total = 0;
    // Record numbers go on across steps that share a stream, so no step meets another's rows.
    const offset = Object.keys(steps).indexOf(name) * records;
    for (let b = 0; b < batches; b++) total += await run(envelopes(stream(step), offset + b * 100, 100));
    perBatch[name] = Number((total / batches).toFixed(2));
  }
  return perBatch;
}
